// Dedup engine entry points: tokenise, exact fingerprints, MinHash, SimHash, LSH parameters.
// Documents arrive as str/bytes views (texts.h); results leave as numpy arrays owning engine memory.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <tuple>

#include "array.h"
#include "mlforge/dedup.h"
#include "mlforge/error.h"
#include "texts.h"

namespace py = pybind11;

namespace reactor_bindings {
namespace {

using namespace mlforge::dedup;

ExactLevel level_from(const std::string& level) {
  if (level == "document") return ExactLevel::kDocument;
  if (level == "paragraph") return ExactLevel::kParagraph;
  if (level == "line") return ExactLevel::kLine;
  throw mlforge::InvalidArgument("[dedup.exact_fingerprints] level must be 'document', 'paragraph' or 'line', got '" +
                                 level + "'");
}

}  // namespace

void init_dedup(py::module_& m) {
  m.def("dedup_tokenizer_name", [](const std::string& name) { return parse_tokenizer(name).name(); },
        py::arg("name"), "The canonical name of a tokenizer configuration (validates it).");
  m.def(
      "dedup_tokenize",
      [](py::handle texts, const std::string& tokenizer, bool replace_invalid) {
        const TextViews docs = texts_from_python(texts, "dedup.tokenize");
        const TokenizerConfig config = parse_tokenizer(tokenizer);
        Tokens tokens;
        {
          py::gil_scoped_release nogil;
          tokens = tokenize(docs.batch(replace_invalid), config);
        }
        return py::make_tuple(vector_to_numpy(std::move(tokens.hashes)), vector_to_numpy(std::move(tokens.begin)),
                              vector_to_numpy(std::move(tokens.end)), vector_to_numpy(std::move(tokens.doc_offsets)),
                              vector_to_numpy(std::move(tokens.invalid_utf8)));
      },
      py::arg("texts"), py::arg("tokenizer"), py::arg("replace_invalid"),
      "(hashes, begin, end, doc_offsets, invalid_utf8) of the tokens of every document.");
  m.def(
      "dedup_exact_fingerprints",
      [](py::handle texts, const std::string& tokenizer, const std::string& level, bool replace_invalid) {
        const TextViews docs = texts_from_python(texts, "dedup.exact_fingerprints");
        const TokenizerConfig config = parse_tokenizer(tokenizer);
        const ExactLevel unit = level_from(level);
        Fingerprints f;
        {
          py::gil_scoped_release nogil;
          f = exact_fingerprints(docs.batch(replace_invalid), config, unit);
        }
        return py::make_tuple(vector_to_numpy(std::move(f.lo)), vector_to_numpy(std::move(f.hi)),
                              vector_to_numpy(std::move(f.begin)), vector_to_numpy(std::move(f.end)),
                              vector_to_numpy(std::move(f.doc_offsets)), vector_to_numpy(std::move(f.invalid_utf8)));
      },
      py::arg("texts"), py::arg("tokenizer"), py::arg("level"), py::arg("replace_invalid"),
      "(lo, hi, begin, end, doc_offsets, invalid_utf8): 128-bit fingerprints of normalised units.");
  m.def(
      "dedup_minhash",
      [](py::handle texts, std::int32_t num_perm, std::int32_t ngram, std::uint64_t seed, const std::string& tokenizer,
         bool with_sets, bool replace_invalid) {
        const TextViews docs = texts_from_python(texts, "dedup.minhash");
        MinHashParams params;
        params.num_perm = num_perm;
        params.ngram = ngram;
        params.seed = seed;
        params.tokenizer = parse_tokenizer(tokenizer);
        MLFORGE_CHECK(num_perm >= 1 && num_perm <= 65536, InvalidArgument,
                      "[dedup.minhash] num_perm must be in [1, 65536], got ", num_perm);
        std::vector<std::uint32_t> signatures(docs.size() * static_cast<std::size_t>(num_perm));
        ShingleSets sets;
        std::vector<std::int64_t> invalid;
        {
          py::gil_scoped_release nogil;
          invalid = minhash_signatures(docs.batch(replace_invalid), params, signatures.data(), with_sets ? &sets : nullptr);
        }
        return py::make_tuple(vector_to_numpy(std::move(signatures), num_perm), vector_to_numpy(std::move(sets.values)),
                              vector_to_numpy(std::move(sets.offsets)), vector_to_numpy(std::move(invalid)),
                              params.scheme());
      },
      py::arg("texts"), py::arg("num_perm"), py::arg("ngram"), py::arg("seed"), py::arg("tokenizer"),
      py::arg("with_sets"), py::arg("replace_invalid"),
      "(signatures [n, num_perm] uint32, set_values, set_offsets, invalid_utf8, scheme).");
  m.def(
      "dedup_minhash_coefficients",
      [](std::uint64_t seed, std::int32_t num_perm) {
        MLFORGE_CHECK(num_perm >= 1, InvalidArgument, "[dedup.minhash] num_perm must be >= 1, got ", num_perm);
        std::vector<std::uint32_t> a(static_cast<std::size_t>(num_perm)), b(static_cast<std::size_t>(num_perm));
        minhash_v2_coefficients(seed, num_perm, a.data(), b.data());
        return py::make_tuple(vector_to_numpy(std::move(a)), vector_to_numpy(std::move(b)));
      },
      py::arg("seed"), py::arg("num_perm"), "(a, b) of the minhash-v2 permutations mix32(a * x + b).");
  m.def(
      "dedup_simhash",
      [](py::handle texts, std::int32_t ngram, const std::string& tokenizer, bool replace_invalid) {
        const TextViews docs = texts_from_python(texts, "dedup.simhash");
        const TokenizerConfig config = parse_tokenizer(tokenizer);
        std::vector<std::uint64_t> fingerprints(docs.size());
        std::vector<std::uint8_t> empty(docs.size());
        std::vector<std::int64_t> invalid;
        {
          py::gil_scoped_release nogil;
          invalid = simhash_fingerprints(docs.batch(replace_invalid), config, ngram, fingerprints.data(), empty.data());
        }
        return py::make_tuple(vector_to_numpy(std::move(fingerprints)), vector_to_numpy(std::move(empty)),
                              vector_to_numpy(std::move(invalid)));
      },
      py::arg("texts"), py::arg("ngram"), py::arg("tokenizer"), py::arg("replace_invalid"),
      "(fingerprints uint64, empty uint8, invalid_utf8).");
  m.def(
      "dedup_simhash_clusters",
      [](py::handle fingerprints, py::handle empty, std::int32_t max_distance) {
        constexpr const char* op = "dedup.simhash_clusters";
        const auto fp = borrow_array(fingerprints, op, "fingerprints", Access::kRead);
        const auto flags = borrow_array(empty, op, "empty", Access::kRead);
        const mlforge::ArrayView f = fp.view(), e = flags.view();
        for (const auto& [view, name, dtype] : {std::tuple{f, "fingerprints", mlforge::DType::kUInt64},
                                                std::tuple{e, "empty", mlforge::DType::kUInt8}}) {
          view.require_dtype(op, name, dtype);
          view.require_ndim(op, name, 1);
          view.require_contiguous(op, name);
        }
        MLFORGE_CHECK(e.shape(0) == f.shape(0), InvalidArgument, "[", op, "] empty has ", e.shape(0),
                      " entries, fingerprints ", f.shape(0));
        std::vector<std::int64_t> ids;
        {
          py::gil_scoped_release nogil;
          ids = simhash_clusters(f.data_as<std::uint64_t>(), e.data_as<std::uint8_t>(), f.shape(0), max_distance);
        }
        return vector_to_numpy(std::move(ids));
      },
      py::arg("fingerprints"), py::arg("empty"), py::arg("max_distance"), "Cluster id per document.");
  m.def(
      "dedup_semantic_clusters",
      [](py::handle embeddings, py::handle assignments, double threshold) {
        constexpr const char* op = "dedup.semantic_clusters";
        const auto emb = borrow_array(embeddings, op, "embeddings", Access::kRead);
        const auto labels = borrow_array(assignments, op, "assignments", Access::kRead);
        const mlforge::ArrayView e = emb.view(), a = labels.view();
        e.require_dtype(op, "embeddings", mlforge::DType::kFloat32);
        e.require_ndim(op, "embeddings", 2);
        e.require_contiguous(op, "embeddings");
        a.require_dtype(op, "assignments", mlforge::DType::kInt64);
        a.require_ndim(op, "assignments", 1);
        a.require_contiguous(op, "assignments");
        MLFORGE_CHECK(a.shape(0) == e.shape(0), InvalidArgument, "[", op, "] assignments has ", a.shape(0),
                      " entries, embeddings ", e.shape(0), " rows");
        std::vector<std::int64_t> ids;
        {
          py::gil_scoped_release nogil;
          ids = semantic_clusters(e.data_as<float>(), e.shape(0), e.shape(1), a.data_as<std::int64_t>(), threshold);
        }
        return vector_to_numpy(std::move(ids));
      },
      py::arg("embeddings"), py::arg("assignments"), py::arg("threshold"),
      "Cluster id per document: cosine >= threshold within the same assignment, transitively.");
  m.def("dedup_lsh_probability", [](std::int32_t bands, std::int32_t rows, double s) {
    return lsh_probability({bands, rows}, s);
  }, py::arg("bands"), py::arg("rows"), py::arg("similarity"));
  m.def("dedup_choose_lsh_params", [](double threshold, std::int32_t num_perm, double target_recall) {
    const LshParams lsh = choose_lsh_params(threshold, num_perm, target_recall);
    return py::make_tuple(lsh.bands, lsh.rows);
  }, py::arg("threshold"), py::arg("num_perm"), py::arg("target_recall"));
}

}  // namespace reactor_bindings
