// Python documents -> string_views (texts.h).
#include "texts.h"

#include <string>

#include "mlforge/error.h"

namespace reactor_bindings {
namespace {

std::string type_name(py::handle obj) { return py::str(py::type::of(obj).attr("__name__")); }

}  // namespace

TextViews texts_from_python(py::handle texts, const char* op) {
  if (PyUnicode_Check(texts.ptr()) || PyBytes_Check(texts.ptr()) || PyByteArray_Check(texts.ptr())) {
    throw py::type_error(std::string("[") + op + "] texts must be a sequence of str or bytes, got a single " +
                         type_name(texts));
  }
  // PySequence_Fast gives a list or tuple we own; a generator is consumed exactly once.
  PyObject* fast = PySequence_Fast(texts.ptr(), "");
  if (fast == nullptr) {
    PyErr_Clear();
    throw py::type_error(std::string("[") + op + "] texts must be a sequence of str or bytes, got " + type_name(texts));
  }
  const auto items = py::reinterpret_steal<py::object>(fast);
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
  TextViews out;
  out.owners = py::tuple(n);
  out.views.reserve(static_cast<std::size_t>(n));
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* item = PySequence_Fast_GET_ITEM(fast, i);
    const char* data = nullptr;
    Py_ssize_t size = 0;
    if (PyUnicode_Check(item)) {
      data = PyUnicode_AsUTF8AndSize(item, &size);
      if (data == nullptr) {
        PyErr_Clear();
        throw mlforge::InvalidArgument(std::string("[") + op + "] texts[" + std::to_string(i) +
                                       "] cannot be encoded as UTF-8 (it holds a lone surrogate)");
      }
    } else if (PyBytes_Check(item)) {
      data = PyBytes_AS_STRING(item);
      size = PyBytes_GET_SIZE(item);
    } else {
      throw py::type_error(std::string("[") + op + "] texts[" + std::to_string(i) + "] must be str or bytes, got " +
                           type_name(item));
    }
    out.owners[static_cast<std::size_t>(i)] = py::reinterpret_borrow<py::object>(item);
    out.views.emplace_back(data, static_cast<std::size_t>(size));
  }
  return out;
}

}  // namespace reactor_bindings
