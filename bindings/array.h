// The one place where Python arrays become mlforge::ArrayView and engine results become numpy
// arrays. Nothing here copies data: inputs are borrowed in place, outputs hand engine memory to
// numpy through a capsule.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>

#include "mlforge/array.h"
#include "mlforge/device.h"

namespace reactor_bindings {

namespace py = pybind11;

enum class Access { kRead, kWrite };

// A view of a Python object's memory plus whatever keeps that memory alive (a Py_buffer, a DLPack
// capsule or the object itself). Must be created and destroyed with the GIL held; view() may be
// used without it while this object lives.
class BorrowedArray {
 public:
  BorrowedArray() = default;
  BorrowedArray(BorrowedArray&&) noexcept;
  BorrowedArray& operator=(BorrowedArray&&) noexcept;
  ~BorrowedArray();

  const mlforge::ArrayView& view() const { return view_; }

 private:
  friend BorrowedArray borrow_array(py::handle, const char*, const char*, Access, std::uintptr_t);
  mlforge::ArrayView view_;
  std::unique_ptr<Py_buffer> buffer_;  // set when borrowed through the buffer protocol
  py::object keepalive_;               // DLPack capsule or __cuda_array_interface__ owner
};

// Borrows `obj` (buffer protocol, DLPack or __cuda_array_interface__) without copying. Errors name
// `op` and the parameter `name`: TypeError for objects that are not arrays; InvalidArgumentError
// for unsupported dtypes, byte order, strides or alignment, for a producer that refuses to export,
// and for read-only memory when `access` is kWrite. `consumer_stream` is the CUDA stream the
// engine will use (0: legacy default); CUDA producers are ordered before it.
BorrowedArray borrow_array(py::handle obj, const char* op, const char* name, Access access,
                           std::uintptr_t consumer_stream = 0);

// Hands an engine-owned array to numpy without copying; numpy frees it through the capsule.
py::array to_numpy(mlforge::OwnedArray&& array);

// Maps "float32"/"float64" (or a numpy dtype object) to DType; InvalidArgumentError otherwise.
mlforge::DType float_dtype_from(py::handle dtype, const char* op);

// A CUDA stream handle from Python (an int; 0 is the legacy default stream) as the engine takes it.
inline mlforge::Stream as_stream(std::uintptr_t handle) { return mlforge::Stream{reinterpret_cast<void*>(handle)}; }

void init_array(py::module_& m);

}  // namespace reactor_bindings
