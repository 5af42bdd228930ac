#include <pybind11/pybind11.h>

#include <cstdint>

#include "array.h"
#include "mlforge/kernels.h"

namespace py = pybind11;

namespace reactor_bindings {

void init_kernels(py::module_& m) {
  m.def(
      "reduce_sum",
      [](py::handle x, std::uintptr_t stream) {
        const BorrowedArray borrowed = borrow_array(x, "kernels.reduce_sum", "x", Access::kRead, stream);
        py::gil_scoped_release nogil;
        return mlforge::reduce_sum(borrowed.view(), as_stream(stream));
      },
      py::arg("x"), py::arg("stream") = 0,
      "Sum of a contiguous float32/float64 array (CPU or CUDA), accumulated in float64.");
}

}  // namespace reactor_bindings
