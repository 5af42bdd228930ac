// Documents from Python as string views for the dedup engine, without copying the text, and
// std::vector results handed to numpy without copying.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string_view>
#include <utility>
#include <vector>

#include "array.h"
#include "mlforge/dedup/text.h"

namespace py = pybind11;

namespace reactor_bindings {

// Views into the UTF-8 of a list/tuple of str (CPython caches it in the object) or bytes, or into
// one buffer of concatenated UTF-8 with offsets (Arrow's string layout), passed as the pair
// (data: uint8[N], offsets: int32|int64[n + 1]). The views stay valid while this object lives: it
// holds a reference to every element or buffer. Build and destroy with the GIL held; batch() may
// be used without it.
class TextViews {
 public:
  mlforge::dedup::TextBatch batch(bool replace_invalid = false) const {
    return {views_.data(), static_cast<std::int64_t>(views_.size()), replace_invalid};
  }
  std::size_t size() const { return views_.size(); }

 private:
  friend TextViews texts_from_python(py::handle texts, const char* op);
  std::vector<py::object> owners_;
  std::vector<BorrowedArray> buffers_;
  std::vector<std::string_view> views_;
};

// Accepts any sequence or iterable of str/bytes (a generator is consumed once) but not a lone str
// or bytes. TypeError naming `op` and the index of the first element that is neither str nor bytes;
// a str with a lone surrogate (not encodable as UTF-8) is an InvalidArgumentError naming its index;
// bad (data, offsets) buffers are InvalidArgumentErrors naming the offending offsets.
TextViews texts_from_python(py::handle texts, const char* op);

// Moves a vector into a 1-D (or, with `columns` > 0, 2-D row-major) numpy array that owns it.
template <class T>
py::array vector_to_numpy(std::vector<T>&& values, py::ssize_t columns = 0) {
  auto* heap = new std::vector<T>(std::move(values));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  const auto n = static_cast<py::ssize_t>(heap->size());
  if (columns > 0) {
    return py::array_t<T>({n / columns, columns}, heap->data(), owner);
  }
  return py::array_t<T>({n}, heap->data(), owner);
}

}  // namespace reactor_bindings
