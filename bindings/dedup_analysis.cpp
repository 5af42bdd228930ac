// Span-level dedup analyses for reactor.engine.dedup_analysis: exact-substring duplicates,
// eval-set contamination and quality signals. Texts come in as str/bytes (texts.h); results go
// out as numpy arrays that take over the engine's vectors without copying.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mlforge/dedup/contamination.h"
#include "mlforge/dedup/quality.h"
#include "mlforge/dedup/substring.h"
#include "texts.h"

namespace py = pybind11;
namespace dd = mlforge::dedup;

namespace reactor_bindings {
namespace {

void put_spans(py::dict& d, const char* prefix, dd::DocSpans&& spans) {
  const std::string p(prefix);
  d[(p + "offsets").c_str()] = vector_to_numpy(std::move(spans.doc_offsets));
  d[(p + "begin").c_str()] = vector_to_numpy(std::move(spans.begin));
  d[(p + "end").c_str()] = vector_to_numpy(std::move(spans.end));
}

py::dict substring(py::handle texts, std::int64_t min_tokens, bool keep_first, const std::string& tokenizer,
                   bool replace_invalid) {
  constexpr const char* op = "dedup.substring";
  const TextViews docs = texts_from_python(texts, op);
  const dd::TokenizerConfig config = dd::parse_tokenizer(tokenizer);
  dd::SubstringDuplicates r;
  {
    py::gil_scoped_release nogil;
    r = dd::substring_duplicates(docs.batch(replace_invalid), config, dd::SubstringOptions{min_tokens, keep_first});
  }
  py::dict d;
  put_spans(d, "token_", std::move(r.token_spans));
  put_spans(d, "byte_", std::move(r.byte_spans));
  d["duplicated_tokens"] = vector_to_numpy(std::move(r.duplicated_tokens));
  d["token_counts"] = vector_to_numpy(std::move(r.token_counts));
  d["invalid_utf8"] = vector_to_numpy(std::move(r.invalid_utf8));
  return d;
}

py::dict contamination(py::handle texts, py::handle eval_texts, std::int64_t ngram, std::int64_t min_match,
                       std::int64_t max_mismatches, const std::string& tokenizer, bool replace_invalid) {
  constexpr const char* op = "dedup.contamination";
  const TextViews docs = texts_from_python(texts, op);
  const TextViews eval = texts_from_python(eval_texts, op);
  const dd::TokenizerConfig config = dd::parse_tokenizer(tokenizer);
  dd::Contamination r;
  {
    py::gil_scoped_release nogil;
    r = dd::contamination(docs.batch(replace_invalid), eval.batch(replace_invalid), config,
                          dd::ContaminationOptions{ngram, min_match, max_mismatches});
  }
  py::dict d;
  d["ngram_hits"] = vector_to_numpy(std::move(r.ngram_hits));
  d["ngram_counts"] = vector_to_numpy(std::move(r.ngram_counts));
  put_spans(d, "ngram_", std::move(r.ngram_byte_spans));
  d["token_counts"] = vector_to_numpy(std::move(r.token_counts));
  d["contaminated_tokens"] = vector_to_numpy(std::move(r.contaminated_tokens));
  d["contaminated_fraction"] = vector_to_numpy(std::move(r.contaminated_fraction));
  put_spans(d, "coverage_", std::move(r.coverage_byte_spans));
  d["pair_doc"] = vector_to_numpy(std::move(r.pair_doc));
  d["pair_eval"] = vector_to_numpy(std::move(r.pair_eval));
  d["pair_tokens"] = vector_to_numpy(std::move(r.pair_tokens));
  d["eval_token_counts"] = vector_to_numpy(std::move(r.eval_token_counts));
  d["eval_contaminated_tokens"] = vector_to_numpy(std::move(r.eval_contaminated_tokens));
  d["eval_contaminated_fraction"] = vector_to_numpy(std::move(r.eval_contaminated_fraction));
  d["invalid_utf8"] = vector_to_numpy(std::move(r.invalid_utf8));
  d["eval_invalid_utf8"] = vector_to_numpy(std::move(r.eval_invalid_utf8));
  return d;
}

py::tuple quality(py::handle texts, bool replace_invalid) {
  const TextViews docs = texts_from_python(texts, "dedup.quality");
  dd::QualitySignals r;
  {
    py::gil_scoped_release nogil;
    r = dd::quality_signals(docs.batch(replace_invalid));
  }
  return py::make_tuple(vector_to_numpy(std::move(r.values), dd::kQualitySignalCount), vector_to_numpy(std::move(r.invalid_utf8)));
}

}  // namespace

void init_dedup_analysis(py::module_& m) {
  auto d = m.def_submodule("dedup_analysis", "Exact-substring dedup, contamination, quality signals (mlforge/dedup).");
  d.def("substring_duplicates", &substring, py::arg("texts"), py::arg("min_tokens"), py::arg("keep_first"),
        py::arg("tokenizer"), py::arg("replace_invalid"), "Duplicated spans per document (dict of numpy arrays).");
  d.def("contamination", &contamination, py::arg("texts"), py::arg("eval_texts"), py::arg("ngram"), py::arg("min_match"),
        py::arg("max_mismatches"), py::arg("tokenizer"), py::arg("replace_invalid"),
        "GPT-3 n-gram hits and Llama 2 token coverage (dict of numpy arrays).");
  d.def("quality_signals", &quality, py::arg("texts"), py::arg("replace_invalid"),
        "(float64 [n, signals] matrix, invalid_utf8 indices).");
  d.def("quality_signal_names", [] {
    std::vector<std::string> names;
    for (std::int32_t s = 0; s < dd::kQualitySignalCount; ++s) names.emplace_back(dd::quality_signal_name(s));
    return names;
  });
}

}  // namespace reactor_bindings
