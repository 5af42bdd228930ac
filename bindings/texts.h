// Python documents (a sequence of str or bytes) as string_views for the dedup engine, without
// copying text: str gives its cached UTF-8 buffer (PyUnicode_AsUTF8AndSize), bytes its own buffer.
#pragma once

#include <pybind11/pybind11.h>

#include <string_view>
#include <vector>

#include "mlforge/dedup/text.h"

namespace reactor_bindings {

namespace py = pybind11;

// Views of the documents plus the references that keep their buffers alive. Create and destroy
// with the GIL held; views and batch() may be used without it while this object lives (the
// elements are held here, so the caller mutating its list cannot free them).
struct TextViews {
  std::vector<std::string_view> views;
  py::tuple owners;

  mlforge::dedup::TextBatch batch(bool replace_invalid = false) const {
    mlforge::dedup::TextBatch b;
    b.docs = views.data();
    b.count = static_cast<std::int64_t>(views.size());
    b.replace_invalid = replace_invalid;
    return b;
  }
};

// Accepts any sequence or iterable of str / bytes (list, tuple, generator...), but not a lone str
// or bytes. Errors name `op`: TypeError for a non-iterable, a lone str/bytes, or an element that is
// neither str nor bytes (naming its index); InvalidArgumentError for a str that cannot be encoded
// as UTF-8 (a lone surrogate), naming its index.
TextViews texts_from_python(py::handle texts, const char* op);

}  // namespace reactor_bindings
