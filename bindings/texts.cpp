// Python documents -> string views (see texts.h).
#include "texts.h"

#include <string>

#include "mlforge/error.h"

namespace reactor_bindings {
namespace {

bool is_document(py::handle item) { return PyUnicode_Check(item.ptr()) || PyBytes_Check(item.ptr()); }

// (data, offsets) buffers: every offset is checked before any view is made.
template <class Offset>
void views_from_buffers(const std::uint8_t* data, std::int64_t size, const Offset* offsets, std::int64_t count,
                        const char* op, std::vector<std::string_view>& views) {
  for (std::int64_t i = 0; i < count; ++i) {
    const auto begin = static_cast<std::int64_t>(offsets[i]), end = static_cast<std::int64_t>(offsets[i + 1]);
    MLFORGE_CHECK(begin >= 0 && begin <= end && end <= size, InvalidArgument, "[", op, "] text offsets[", i,
                  ".. ", i + 1, "] = (", begin, ", ", end, ") do not lie within the ", size, "-byte data buffer");
    views.emplace_back(reinterpret_cast<const char*>(data) + begin, static_cast<std::size_t>(end - begin));
  }
}

}  // namespace

TextViews texts_from_python(py::handle texts, const char* op) {
  if (py::isinstance<py::tuple>(texts) && py::len(texts) == 2 && !is_document(texts[py::int_(0)])) {
    TextViews out;
    out.buffers_.push_back(borrow_array(texts[py::int_(0)], op, "texts data", Access::kRead));
    out.buffers_.push_back(borrow_array(texts[py::int_(1)], op, "texts offsets", Access::kRead));
    const mlforge::ArrayView& data = out.buffers_[0].view();
    const mlforge::ArrayView& offsets = out.buffers_[1].view();
    data.require_dtype(op, "texts data", mlforge::DType::kUInt8);
    data.require_ndim(op, "texts data", 1);
    data.require_contiguous(op, "texts data");
    offsets.require_ndim(op, "texts offsets", 1);
    offsets.require_contiguous(op, "texts offsets");
    MLFORGE_CHECK(offsets.shape(0) >= 1, InvalidArgument, "[", op, "] texts offsets must have n + 1 entries");
    const std::int64_t count = offsets.shape(0) - 1;
    const auto* bytes = static_cast<const std::uint8_t*>(data.data());
    if (offsets.dtype() == mlforge::DType::kInt32) {
      views_from_buffers(bytes, data.shape(0), offsets.data_as<std::int32_t>(), count, op, out.views_);
    } else {
      offsets.require_dtype(op, "texts offsets", mlforge::DType::kInt64);
      views_from_buffers(bytes, data.shape(0), offsets.data_as<std::int64_t>(), count, op, out.views_);
    }
    return out;
  }
  if (PyUnicode_Check(texts.ptr()) || PyBytes_Check(texts.ptr()) || PyByteArray_Check(texts.ptr())) {
    throw py::type_error(std::string("[") + op + "] texts must be a sequence of str or bytes, got a single " +
                         std::string(py::str(py::type::handle_of(texts).attr("__name__"))));
  }
  // PySequence_Fast gives a list or tuple we own; any other iterable is consumed exactly once.
  PyObject* fast = PySequence_Fast(texts.ptr(), "");
  if (fast == nullptr) {
    PyErr_Clear();
    throw py::type_error(std::string("[") + op + "] texts must be a sequence of str or bytes, got " +
                         std::string(py::str(py::type::handle_of(texts).attr("__name__"))));
  }
  const auto sequence = py::reinterpret_steal<py::sequence>(fast);
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
        throw mlforge::InvalidArgument(std::string("[") + op + "] texts[" + std::to_string(i) +
                              "] cannot be encoded as UTF-8 (it holds a lone surrogate)");
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
