// Parsing of the element formats and metadata that the array protocols deliver. Every function
// throws mlforge::InvalidArgument naming `op` and the parameter `name` on anything unsupported.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dlpack_abi.h"
#include "mlforge/array.h"

namespace reactor_bindings::formats {

namespace py = pybind11;

[[noreturn]] void fail(const char* op, const char* name, const std::string& what);
// struct-module format from the buffer protocol ("f", "<d", "=q", "?", "e").
mlforge::DType dtype_from_format(const char* format, Py_ssize_t itemsize, const char* op, const char* name);
mlforge::DType dtype_from_dlpack(const dlpack::DataType& t, const char* op, const char* name);
// numpy typestr of __cuda_array_interface__ ("<f4", "|u1", "|b1").
mlforge::DType dtype_from_typestr(const std::string& typestr, const char* op, const char* name);
void check_ndim(std::int64_t ndim, const char* op, const char* name);
std::int64_t element_stride(std::int64_t byte_stride, std::size_t itemsize, const char* op, const char* name);
std::vector<std::int64_t> int_tuple(py::handle value, int length, const char* op, const char* name, const char* what);

}  // namespace reactor_bindings::formats
