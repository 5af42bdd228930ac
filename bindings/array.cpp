#include "array.h"

#include <bit>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dlpack_abi.h"
#include "mlforge/error.h"

namespace reactor_bindings {
namespace {

using mlforge::DType;
using mlforge::InvalidArgument;

[[noreturn]] void fail(const char* op, const char* name, const std::string& what) {
  throw InvalidArgument(std::string("[") + op + "] " + name + ": " + what);
}

// Parses a struct-module format string from the buffer protocol ("f", "<d", "=q", "?", "e").
DType dtype_from_format(const char* format, Py_ssize_t itemsize, const char* op, const char* name) {
  std::string f = format != nullptr ? format : "B";
  char order = '@';
  if (!f.empty() && std::strchr("@=<>!", f[0]) != nullptr) {
    order = f[0];
    f.erase(0, 1);
  }
  const bool big_endian_data = order == '>' || order == '!';
  const bool little_endian_data = order == '<';
  const bool host_is_little = std::endian::native == std::endian::little;
  if ((big_endian_data && host_is_little) || (little_endian_data && !host_is_little))
    fail(op, name, "non-native byte order '" + std::string(format) + "' (byte-swap the array first)");
  if (f.size() != 1) fail(op, name, "unsupported element format '" + std::string(format) + "'");
  const char kind = f[0];
  switch (kind) {
    case '?': return DType::kBool;
    case 'e': return DType::kFloat16;
    case 'f': return DType::kFloat32;
    case 'd': return DType::kFloat64;
    case 'b': case 'h': case 'i': case 'l': case 'q': case 'n':
      switch (itemsize) {
        case 1: return DType::kInt8;
        case 2: return DType::kInt16;
        case 4: return DType::kInt32;
        case 8: return DType::kInt64;
      }
      break;
    case 'B': case 'H': case 'I': case 'L': case 'Q': case 'N':
      switch (itemsize) {
        case 1: return DType::kUInt8;
        case 2: return DType::kUInt16;
        case 4: return DType::kUInt32;
        case 8: return DType::kUInt64;
      }
      break;
  }
  fail(op, name, "unsupported element format '" + std::string(format) + "'");
}

DType dtype_from_dlpack(const dlpack::DataType& t, const char* op, const char* name) {
  if (t.lanes != 1) fail(op, name, "vector DLPack dtypes (lanes=" + std::to_string(t.lanes) + ") are not supported");
  const int bits = t.bits;
  switch (t.code) {
    case dlpack::kBool: if (bits == 8) return DType::kBool; break;
    case dlpack::kInt:
      if (bits == 8) return DType::kInt8;
      if (bits == 16) return DType::kInt16;
      if (bits == 32) return DType::kInt32;
      if (bits == 64) return DType::kInt64;
      break;
    case dlpack::kUInt:
      if (bits == 8) return DType::kUInt8;
      if (bits == 16) return DType::kUInt16;
      if (bits == 32) return DType::kUInt32;
      if (bits == 64) return DType::kUInt64;
      break;
    case dlpack::kFloat:
      if (bits == 16) return DType::kFloat16;
      if (bits == 32) return DType::kFloat32;
      if (bits == 64) return DType::kFloat64;
      break;
    case dlpack::kBFloat: if (bits == 16) return DType::kBFloat16; break;
  }
  fail(op, name, "unsupported DLPack dtype (code " + std::to_string(t.code) + ", " + std::to_string(bits) + " bits)");
}

// numpy typestr of __cuda_array_interface__: "<f4", "|u1", "|b1"...
DType dtype_from_typestr(const std::string& typestr, const char* op, const char* name) {
  if (typestr.size() < 3) fail(op, name, "bad typestr '" + typestr + "'");
  if (typestr[0] == '>') fail(op, name, "non-native byte order '" + typestr + "'");
  const char kind = typestr[1];
  const std::string size = typestr.substr(2);
  if (size.size() > 2 || size.find_first_not_of("0123456789") != std::string::npos)
    fail(op, name, "bad typestr '" + typestr + "'");
  const int bytes = std::atoi(size.c_str());
  dlpack::DataType t{0, static_cast<std::uint8_t>(bytes * 8), 1};
  switch (kind) {
    case 'b': t.code = dlpack::kBool; break;
    case 'i': t.code = dlpack::kInt; break;
    case 'u': t.code = dlpack::kUInt; break;
    case 'f': t.code = dlpack::kFloat; break;
    default: fail(op, name, "unsupported typestr '" + typestr + "'");
  }
  return dtype_from_dlpack(t, op, name);
}

void check_ndim(std::int64_t ndim, const char* op, const char* name) {
  if (ndim < 0 || ndim > mlforge::kMaxDims)
    fail(op, name, "at most " + std::to_string(mlforge::kMaxDims) + " dimensions are supported, got " +
                       std::to_string(ndim));
}

std::int64_t element_stride(std::int64_t byte_stride, std::size_t itemsize, const char* op, const char* name) {
  if (byte_stride % static_cast<std::int64_t>(itemsize) != 0)
    fail(op, name, "byte stride " + std::to_string(byte_stride) + " is not a multiple of the item size " +
                       std::to_string(itemsize));
  return byte_stride / static_cast<std::int64_t>(itemsize);
}

// Reads a tuple/list of Python ints (bools count as ints) of the given length (-1: any length),
// as protocols such as __dlpack_device__ and __cuda_array_interface__ deliver them.
std::vector<std::int64_t> int_tuple(py::handle value, int length, const char* op, const char* name, const char* what) {
  if (!py::isinstance<py::tuple>(value) && !py::isinstance<py::list>(value))
    fail(op, name, std::string(what) + " is not a tuple");
  const auto items = py::reinterpret_borrow<py::sequence>(value);
  if (length >= 0 && static_cast<int>(items.size()) != length)
    fail(op, name, std::string(what) + " must have " + std::to_string(length) + " items");
  std::vector<std::int64_t> out;
  for (const py::handle item : items) {
    if (!py::isinstance<py::int_>(item)) fail(op, name, std::string(what) + " must hold integers");
    const long long v = PyLong_AsLongLong(item.ptr());
    if (v == -1 && PyErr_Occurred()) {
      PyErr_Clear();
      // Addresses above 2**63 are valid pointers: read them unsigned.
      const unsigned long long u = PyLong_AsUnsignedLongLong(item.ptr());
      if (u == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
        PyErr_Clear();
        fail(op, name, std::string(what) + " holds an integer out of range");
      }
      out.push_back(static_cast<std::int64_t>(u));
    } else {
      out.push_back(v);
    }
  }
  return out;
}

}  // namespace

BorrowedArray::BorrowedArray(BorrowedArray&&) noexcept = default;
BorrowedArray& BorrowedArray::operator=(BorrowedArray&&) noexcept = default;
BorrowedArray::~BorrowedArray() {
  if (buffer_) PyBuffer_Release(buffer_.get());
}

BorrowedArray borrow_array(py::handle obj, const char* op, const char* name, Access access) {
  BorrowedArray out;
  std::int64_t shape[mlforge::kMaxDims];
  std::int64_t strides[mlforge::kMaxDims];

  if (PyObject_CheckBuffer(obj.ptr())) {
    auto buffer = std::make_unique<Py_buffer>();
    if (PyObject_GetBuffer(obj.ptr(), buffer.get(), PyBUF_RECORDS_RO) != 0) throw py::error_already_set();
    out.buffer_ = std::move(buffer);  // released by ~BorrowedArray from here on, even if we throw
    const Py_buffer& b = *out.buffer_;
    check_ndim(b.ndim, op, name);
    const DType dtype = dtype_from_format(b.format, b.itemsize, op, name);
    for (int i = 0; i < b.ndim; ++i) {
      shape[i] = b.shape[i];
      strides[i] = element_stride(b.strides[i], static_cast<std::size_t>(b.itemsize), op, name);
    }
    out.view_ = mlforge::ArrayView(b.buf, dtype, b.ndim, shape, strides, {}, !b.readonly);
  } else if (py::hasattr(obj, "__dlpack__")) {
    // The device is read from the exported tensor itself: asking __dlpack_device__() first would
    // double the cost of a torch hand-over (each torch method call costs microseconds).
    py::object capsule = obj.attr("__dlpack__")();
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
    out.view_ = mlforge::ArrayView(data, dtype, t.ndim, t.shape, t.strides, where, /*writable=*/true);
  } else if (py::hasattr(obj, "__cuda_array_interface__")) {
    const py::object cai_object = obj.attr("__cuda_array_interface__");
    if (!py::isinstance<py::dict>(cai_object)) fail(op, name, "__cuda_array_interface__ is not a dict");
    const auto cai = py::reinterpret_borrow<py::dict>(cai_object);
    for (const char* key : {"shape", "typestr", "data"})
      if (!cai.contains(key)) fail(op, name, std::string("__cuda_array_interface__ has no '") + key + "'");
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
    // The interface does not name the device; -1 asks the CUDA backend to look it up from the pointer.
    out.view_ = mlforge::ArrayView(reinterpret_cast<void*>(static_cast<std::uintptr_t>(address_and_readonly[0])),
                                   dtype, static_cast<int>(dims.size()), shape, strided ? strides : nullptr,
                                   {mlforge::DeviceType::kCUDA, -1}, address_and_readonly[1] == 0);
    out.keepalive_ = py::reinterpret_borrow<py::object>(obj);
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
  const std::string name = py::str(py::dtype::from_args(py::reinterpret_borrow<py::object>(dtype)));
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
