// Python documents -> string views (see texts.h).
#include "texts.h"

#include <string>

namespace reactor_bindings {

TextViews texts_from_python(py::handle texts, const char* op) {
  if (py::isinstance<py::str>(texts) || py::isinstance<py::bytes>(texts)) {
    throw py::type_error(std::string("[") + op + "] texts must be a list of str or bytes, not a single " +
                         std::string(py::str(py::type::handle_of(texts).attr("__name__"))));
  }
  if (!py::isinstance<py::list>(texts) && !py::isinstance<py::tuple>(texts)) {
    throw py::type_error(std::string("[") + op + "] texts must be a list or tuple of str or bytes, got " +
                         std::string(py::str(py::type::handle_of(texts).attr("__name__"))));
  }
  const auto sequence = py::reinterpret_borrow<py::sequence>(texts);
  TextViews out;
  const auto n = static_cast<std::size_t>(py::len(sequence));
  out.owners_.reserve(n);
  out.views_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    py::object item = sequence[i];
    const char* data = nullptr;
    Py_ssize_t size = 0;
    if (PyUnicode_Check(item.ptr())) {
      data = PyUnicode_AsUTF8AndSize(item.ptr(), &size);
      if (data == nullptr) {
        PyErr_Clear();
        throw py::value_error(std::string("[") + op + "] texts[" + std::to_string(i) +
                              "] cannot be encoded as UTF-8 (lone surrogates)");
      }
    } else if (PyBytes_Check(item.ptr())) {
      data = PyBytes_AS_STRING(item.ptr());
      size = PyBytes_GET_SIZE(item.ptr());
    } else {
      throw py::type_error(std::string("[") + op + "] texts[" + std::to_string(i) + "] must be str or bytes, got " +
                           std::string(py::str(py::type::handle_of(item).attr("__name__"))));
    }
    out.views_.emplace_back(data, static_cast<std::size_t>(size));
    out.owners_.push_back(std::move(item));
  }
  return out;
}

}  // namespace reactor_bindings
