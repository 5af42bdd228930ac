// Element formats of the array protocols (buffer protocol, DLPack, __cuda_array_interface__).
#include "array_formats.h"

#include <bit>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "mlforge/error.h"

namespace reactor_bindings::formats {

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
  if (bytes != 1 && bytes != 2 && bytes != 4 && bytes != 8) fail(op, name, "unsupported typestr '" + typestr + "'");
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
// as __cuda_array_interface__ delivers them.
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

}  // namespace reactor_bindings::formats
