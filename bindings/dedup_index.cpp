// reactor._mlforge.MinHashIndex: the engine's near-duplicate index (mlforge/dedup/minhash.h).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "array.h"
#include "mlforge/dedup.h"
#include "mlforge/error.h"
#include "texts.h"

namespace py = pybind11;

namespace reactor_bindings {
namespace {

using namespace mlforge::dedup;

// Signatures [n, num_perm] uint32 and optional CSR shingle sets, borrowed and checked.
struct IndexInput {
  BorrowedArray signatures;
  ShingleSets sets;
  bool has_sets = false;
  std::int64_t n = 0;
};

IndexInput borrow_input(const MinHashIndex& index, py::handle signatures, py::handle set_values,
                        py::handle set_offsets, const char* op) {
  IndexInput in{borrow_array(signatures, op, "signatures", Access::kRead), ShingleSets{}, false, 0};
  const mlforge::ArrayView s = in.signatures.view();
  s.require_dtype(op, "signatures", mlforge::DType::kUInt32);
  s.require_ndim(op, "signatures", 2);
  s.require_contiguous(op, "signatures");
  MLFORGE_CHECK(s.shape(1) == index.config().num_perm, InvalidArgument, "[", op, "] signatures have ",
                s.shape(1), " columns, the index uses num_perm=", index.config().num_perm);
  in.n = s.shape(0);
  if (!set_values.is_none()) {
    const auto values = borrow_array(set_values, op, "set_values", Access::kRead);
    const auto offsets = borrow_array(set_offsets, op, "set_offsets", Access::kRead);
    values.view().require_dtype(op, "set_values", mlforge::DType::kUInt32);
    offsets.view().require_dtype(op, "set_offsets", mlforge::DType::kInt64);
    values.view().require_contiguous(op, "set_values");
    offsets.view().require_contiguous(op, "set_offsets");
    const auto* v = values.view().data_as<std::uint32_t>();
    const auto* o = offsets.view().data_as<std::int64_t>();
    in.sets.values.assign(v, v + values.view().numel());
    in.sets.offsets.assign(o, o + offsets.view().numel());
    in.has_sets = true;
  }
  return in;
}

}  // namespace

void init_dedup_index(py::module_& m) {
  py::class_<MinHashIndex>(m, "MinHashIndex")
      .def(py::init([](std::int32_t num_perm, std::int32_t bands, std::int32_t rows, double threshold,
                       const std::string& verify, const std::string& scheme) {
             IndexConfig config;
             config.num_perm = num_perm;
             config.lsh = {bands, rows};
             config.threshold = threshold;
             if (verify == "none") {
               config.verify = Verify::kNone;
             } else if (verify == "minhash") {
               config.verify = Verify::kMinHash;
             } else if (verify == "jaccard") {
               config.verify = Verify::kJaccard;
             } else {
               throw mlforge::InvalidArgument("[dedup.index] verify must be 'none', 'minhash' or 'jaccard', got '" +
                                              verify + "'");
             }
             config.scheme = scheme;
             return MinHashIndex(config);
           }),
           py::arg("num_perm"), py::arg("bands"), py::arg("rows"), py::arg("threshold"), py::arg("verify"),
           py::arg("scheme"))
      .def_property_readonly("size", &MinHashIndex::size)
      .def_property_readonly("config", [](const MinHashIndex& index) {
        const IndexConfig& c = index.config();
        static const char* verify_names[] = {"none", "minhash", "jaccard"};
        return py::dict(py::arg("num_perm") = c.num_perm, py::arg("bands") = c.lsh.bands,
                        py::arg("rows") = c.lsh.rows, py::arg("threshold") = c.threshold,
                        py::arg("verify") = verify_names[static_cast<int>(c.verify)], py::arg("scheme") = c.scheme);
      })
      .def("stats", [](const MinHashIndex& index) {
        const IndexStats s = index.stats();
        return py::dict(py::arg("documents") = s.documents, py::arg("candidate_pairs") = s.candidate_pairs,
                        py::arg("verified_pairs") = s.verified_pairs, py::arg("rejected_pairs") = s.rejected_pairs,
                        py::arg("memory_bytes") = s.memory_bytes);
      })
      .def("add", [](MinHashIndex& index, py::handle signatures, py::handle set_values, py::handle set_offsets) {
        IndexInput in = borrow_input(index, signatures, set_values, set_offsets, "dedup.index.add");
        py::gil_scoped_release nogil;
        return index.add(in.signatures.view().data_as<std::uint32_t>(), in.n, in.has_sets ? &in.sets : nullptr);
      }, py::arg("signatures"), py::arg("set_values") = py::none(), py::arg("set_offsets") = py::none())
      .def("query", [](const MinHashIndex& index, py::handle signatures, py::handle set_values, py::handle set_offsets) {
        IndexInput in = borrow_input(index, signatures, set_values, set_offsets, "dedup.index.query");
        std::vector<std::int64_t> ids;
        {
          py::gil_scoped_release nogil;
          ids = index.query(in.signatures.view().data_as<std::uint32_t>(), in.n, in.has_sets ? &in.sets : nullptr);
        }
        return vector_to_numpy(std::move(ids));
      }, py::arg("signatures"), py::arg("set_values") = py::none(), py::arg("set_offsets") = py::none())
      .def("similarity", [](const MinHashIndex& index, py::handle a, py::handle b) {
        constexpr const char* op = "dedup.index.similarity";
        const auto pa = borrow_array(a, op, "a", Access::kRead);
        const auto pb = borrow_array(b, op, "b", Access::kRead);
        for (const auto* arg : {&pa, &pb}) {
          arg->view().require_dtype(op, arg == &pa ? "a" : "b", mlforge::DType::kInt64);
          arg->view().require_ndim(op, arg == &pa ? "a" : "b", 1);
          arg->view().require_contiguous(op, arg == &pa ? "a" : "b");
        }
        MLFORGE_CHECK(pa.view().shape(0) == pb.view().shape(0), InvalidArgument, "[", op, "] a has ",
                      pa.view().shape(0), " ids, b ", pb.view().shape(0));
        std::vector<double> out;
        {
          py::gil_scoped_release nogil;
          out = index.similarity(pa.view().data_as<std::int64_t>(), pb.view().data_as<std::int64_t>(),
                                 pa.view().shape(0));
        }
        return vector_to_numpy(std::move(out));
      }, py::arg("a"), py::arg("b"), "Jaccard (or MinHash estimate) of indexed pairs a[k], b[k].")
      .def("clusters", [](const MinHashIndex& index) {
        std::vector<std::int64_t> ids;
        {
          py::gil_scoped_release nogil;
          ids = index.clusters();
        }
        return vector_to_numpy(std::move(ids));
      })
      .def("merge", [](MinHashIndex& index, const MinHashIndex& other) {
        py::gil_scoped_release nogil;
        index.merge(other);
      }, py::arg("other"))
      .def("save", [](const MinHashIndex& index, const std::string& path) {
        py::gil_scoped_release nogil;
        index.save(path);
      }, py::arg("path"))
      .def_static("load", [](const std::string& path) {
        py::gil_scoped_release nogil;
        return MinHashIndex::load(path);
      }, py::arg("path"));
}

}  // namespace reactor_bindings
