#include "array.h"

#include <string>
#include <utility>
#include <vector>

#include "array_formats.h"
#include "dlpack_abi.h"
#include "mlforge/device.h"
#include "mlforge/error.h"

namespace reactor_bindings {
namespace {

using mlforge::DType;
using mlforge::InvalidArgument;
using formats::check_ndim;
using formats::dtype_from_dlpack;
using formats::dtype_from_format;
using formats::dtype_from_typestr;
using formats::element_stride;
using formats::fail;
using formats::int_tuple;

// Alignment matters: engine kernels read typed pointers (and vector loads), so a float32 buffer at
// an odd address is refused rather than read with undefined behaviour.
void check_alignment(const void* data, std::size_t itemsize, const char* op, const char* name) {
  if (reinterpret_cast<std::uintptr_t>(data) % itemsize != 0)
    fail(op, name, "data address is not aligned to the item size " + std::to_string(itemsize) +
                       " (copy it into a fresh array first)");
}

// Runs a protocol call of the producer; its Python errors (numpy refusing a datetime buffer, torch
// refusing a tensor that requires grad) become InvalidArgumentError naming op and parameter.
template <class Call>
auto producer_call(const char* op, const char* name, const char* what, Call call) {
  try {
    return call();
  } catch (py::error_already_set& error) {
    fail(op, name, std::string(what) + " failed: " + error.what());
  }
}

}  // namespace

BorrowedArray::BorrowedArray(BorrowedArray&& other) noexcept
    : view_(other.view_), buffer_(std::move(other.buffer_)), keepalive_(std::move(other.keepalive_)) {}

BorrowedArray& BorrowedArray::operator=(BorrowedArray&& other) noexcept {
  if (this != &other) {
    if (buffer_) PyBuffer_Release(buffer_.get());  // never drop an export without releasing it
    view_ = other.view_;
    buffer_ = std::move(other.buffer_);
    keepalive_ = std::move(other.keepalive_);
  }
  return *this;
}

BorrowedArray::~BorrowedArray() {
  if (buffer_) PyBuffer_Release(buffer_.get());
}

BorrowedArray borrow_array(py::handle obj, const char* op, const char* name, Access access,
                           std::uintptr_t consumer_stream) {
  BorrowedArray out;
  std::int64_t shape[mlforge::kMaxDims];
  std::int64_t strides[mlforge::kMaxDims];

  if (PyObject_CheckBuffer(obj.ptr())) {
    auto buffer = std::make_unique<Py_buffer>();
    producer_call(op, name, "the buffer protocol", [&] {
      if (PyObject_GetBuffer(obj.ptr(), buffer.get(), PyBUF_RECORDS_RO) != 0) throw py::error_already_set();
      return 0;
    });
    out.buffer_ = std::move(buffer);  // released by ~BorrowedArray from here on, even if we throw
    const Py_buffer& b = *out.buffer_;
    check_ndim(b.ndim, op, name);
    const DType dtype = dtype_from_format(b.format, b.itemsize, op, name);
    for (int i = 0; i < b.ndim; ++i) {
      shape[i] = b.shape[i];
      strides[i] = element_stride(b.strides[i], static_cast<std::size_t>(b.itemsize), op, name);
    }
    check_alignment(b.buf, static_cast<std::size_t>(b.itemsize), op, name);
    out.view_ = mlforge::ArrayView(b.buf, dtype, b.ndim, shape, strides, {}, !b.readonly);
  } else if (py::hasattr(obj, "__dlpack__")) {
    // The device is read from the exported tensor itself: asking __dlpack_device__() first would
    // double the cost of a torch hand-over (each torch method call costs microseconds).
    // The consumer's stream goes to the producer, which orders its pending writes before it (the
    // DLPack contract); without one the producer assumes the legacy default stream, where we run.
    py::object capsule = producer_call(op, name, "__dlpack__()", [&] {
      return consumer_stream != 0 ? obj.attr("__dlpack__")(py::arg("stream") = consumer_stream)
                                  : obj.attr("__dlpack__")();
    });
    auto* managed = static_cast<dlpack::ManagedTensor*>(PyCapsule_GetPointer(capsule.ptr(), dlpack::kCapsuleName));
    if (managed == nullptr) throw py::error_already_set();
    out.keepalive_ = std::move(capsule);  // from here on the producer's deleter runs when we are done
    const dlpack::Tensor& t = managed->dl_tensor;
    mlforge::Device where{};
    if (t.device.device_type == dlpack::kCUDA || t.device.device_type == dlpack::kCUDAManaged) {
      where = {mlforge::DeviceType::kCUDA, t.device.device_id};
    } else if (t.device.device_type != dlpack::kCPU && t.device.device_type != dlpack::kCUDAHost) {
      fail(op, name, "unsupported DLPack device type " + std::to_string(t.device.device_type));
    }
    check_ndim(t.ndim, op, name);
    const DType dtype = dtype_from_dlpack(t.dtype, op, name);
    void* data = static_cast<char*>(t.data) + t.byte_offset;
    check_alignment(data, mlforge::dtype_size(dtype), op, name);
    out.view_ = mlforge::ArrayView(data, dtype, t.ndim, t.shape, t.strides, where, /*writable=*/true);
  } else if (py::hasattr(obj, "__cuda_array_interface__")) {
    const py::object cai_object = obj.attr("__cuda_array_interface__");
    if (!py::isinstance<py::dict>(cai_object)) fail(op, name, "__cuda_array_interface__ is not a dict");
    const auto cai = py::reinterpret_borrow<py::dict>(cai_object);
    for (const char* key : {"shape", "typestr", "data"})
      if (!cai.contains(key)) fail(op, name, std::string("__cuda_array_interface__ has no '") + key + "'");
    if (cai.contains("mask") && !cai["mask"].is_none()) fail(op, name, "masked CUDA arrays are not supported");
    const auto address_and_readonly = int_tuple(cai["data"], 2, op, name, "__cuda_array_interface__['data']");
    if (!py::isinstance<py::str>(cai["typestr"])) fail(op, name, "__cuda_array_interface__['typestr'] is not a str");
    const DType dtype = dtype_from_typestr(cai["typestr"].cast<std::string>(), op, name);
    const auto dims = int_tuple(cai["shape"], -1, op, name, "__cuda_array_interface__['shape']");
    check_ndim(static_cast<std::int64_t>(dims.size()), op, name);
    const bool strided = cai.contains("strides") && !cai["strides"].is_none();
    const auto byte_strides = strided ? int_tuple(cai["strides"], static_cast<int>(dims.size()), op, name,
                                                  "__cuda_array_interface__['strides']")
                                      : std::vector<std::int64_t>{};
    for (std::size_t i = 0; i < dims.size(); ++i) {
      shape[i] = dims[i];
      if (strided) strides[i] = element_stride(byte_strides[i], mlforge::dtype_size(dtype), op, name);
    }
    void* data = reinterpret_cast<void*>(static_cast<std::uintptr_t>(address_and_readonly[0]));
    check_alignment(data, mlforge::dtype_size(dtype), op, name);
    // The interface does not name the device; -1 asks the CUDA backend to look it up from the pointer.
    out.view_ = mlforge::ArrayView(data, dtype, static_cast<int>(dims.size()), shape, strided ? strides : nullptr,
                                   {mlforge::DeviceType::kCUDA, -1}, address_and_readonly[1] == 0);
    out.keepalive_ = py::reinterpret_borrow<py::object>(obj);
    // Version 3: a producer stream means pending writes there; order our stream after them.
    if (cai.contains("stream") && !cai["stream"].is_none()) {
      const auto producer = int_tuple(py::make_tuple(cai["stream"]), 1, op, name, "__cuda_array_interface__['stream']");
      mlforge::cuda_stream_wait(mlforge::Stream{reinterpret_cast<void*>(consumer_stream)},
                                mlforge::Stream{reinterpret_cast<void*>(static_cast<std::uintptr_t>(producer[0]))});
    }
  } else {
    throw py::type_error(std::string("[") + op + "] " + name +
                         ": expected an array (buffer protocol, DLPack or __cuda_array_interface__), got " +
                         std::string(py::str(py::type::of(obj).attr("__name__"))));
  }
  if (access == Access::kWrite) out.view_.require_writable(op, name);
  return out;
}

py::array to_numpy(mlforge::OwnedArray&& array) {
  std::vector<py::ssize_t> shape(static_cast<std::size_t>(array.ndim()));
  for (int i = 0; i < array.ndim(); ++i) shape[static_cast<std::size_t>(i)] = array.shape(i);
  const py::dtype dtype(mlforge::dtype_name(array.dtype()));
  // The capsule owns the memory from here on; release() cannot throw, so nothing leaks or double-frees.
  py::capsule owner(array.data(), "mlforge.buffer", [](PyObject* capsule) {
    mlforge::OwnedArray::free_data(PyCapsule_GetPointer(capsule, "mlforge.buffer"));
  });
  void* data = array.release();
  return py::array(dtype, shape, {}, data, owner);
}

mlforge::DType float_dtype_from(py::handle dtype, const char* op) {
  const std::string name = producer_call(op, "dtype", "numpy.dtype()", [&] {
    return std::string(py::str(py::dtype::from_args(py::reinterpret_borrow<py::object>(dtype))));
  });
  if (name == "float32") return DType::kFloat32;
  if (name == "float64") return DType::kFloat64;
  throw InvalidArgument(std::string("[") + op + "] dtype must be float32 or float64, got " + name);
}

void init_array(py::module_& m) {
  m.def(
      "describe_array",
      [](py::handle x, bool writable) {
        const BorrowedArray borrowed = borrow_array(x, "array.describe", "x", writable ? Access::kWrite : Access::kRead);
        const mlforge::ArrayView& v = borrowed.view();
        py::tuple shape(v.ndim()), strides(v.ndim());
        for (int i = 0; i < v.ndim(); ++i) {
          shape[static_cast<std::size_t>(i)] = v.shape(i);
          strides[static_cast<std::size_t>(i)] = v.stride(i);
        }
        py::dict out;
        out["data"] = reinterpret_cast<std::uintptr_t>(v.data());
        out["dtype"] = mlforge::dtype_name(v.dtype());
        out["shape"] = shape;
        out["strides"] = strides;
        out["device"] = v.device().is_cuda() ? "cuda" : "cpu";
        out["device_index"] = v.device().index;
        out["writable"] = v.writable();
        out["contiguous"] = v.is_contiguous();
        return out;
      },
      py::arg("x"), py::arg("writable") = false,
      "Borrow x as the engine sees it (no copy) and describe the view: data pointer, dtype, shape, "
      "element strides, device, writability.");
}

}  // namespace reactor_bindings
