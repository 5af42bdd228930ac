// MinHash / SimHash of ragged documents (token hashes + offsets), outputs caller-provided.
#include <pybind11/pybind11.h>

#include <cstdint>

#include "array.h"
#include "mlforge/kernels.h"

namespace py = pybind11;

namespace reactor_bindings {

void init_hashing(py::module_& m) {
  m.def(
      "minhash_permutations",
      [](std::uint64_t seed, py::handle a, py::handle b) {
        constexpr const char* op = "kernels.minhash_permutations";
        const auto pa = borrow_array(a, op, "a", Access::kWrite);
        const auto pb = borrow_array(b, op, "b", Access::kWrite);
        mlforge::minhash_permutations(seed, pa.view(), pb.view());
      },
      py::arg("seed"), py::arg("a"), py::arg("b"), "The (a, b) of MinHash permutations (scheme version 1).");
  m.def(
      "minhash",
      [](py::handle token_hashes, py::handle offsets, std::uint64_t seed, py::handle signatures, std::uintptr_t stream) {
        constexpr const char* op = "kernels.minhash";
        const auto tokens = borrow_array(token_hashes, op, "token_hashes", Access::kRead, stream);
        const auto o = borrow_array(offsets, op, "offsets", Access::kRead, stream);
        const auto out = borrow_array(signatures, op, "signatures", Access::kWrite, stream);
        py::gil_scoped_release nogil;
        mlforge::minhash(tokens.view(), o.view(), seed, out.view(), as_stream(stream));
      },
      py::arg("token_hashes"), py::arg("offsets"), py::arg("seed"), py::arg("signatures"), py::arg("stream") = 0,
      "MinHash signatures [n, num_perm] of ragged documents.");
  m.def(
      "simhash",
      [](py::handle token_hashes, py::handle offsets, py::handle fingerprints, std::uintptr_t stream) {
        constexpr const char* op = "kernels.simhash";
        const auto tokens = borrow_array(token_hashes, op, "token_hashes", Access::kRead, stream);
        const auto o = borrow_array(offsets, op, "offsets", Access::kRead, stream);
        const auto out = borrow_array(fingerprints, op, "fingerprints", Access::kWrite, stream);
        py::gil_scoped_release nogil;
        mlforge::simhash(tokens.view(), o.view(), out.view(), as_stream(stream));
      },
      py::arg("token_hashes"), py::arg("offsets"), py::arg("fingerprints"), py::arg("stream") = 0, "64-bit SimHash of ragged documents.");
}

}  // namespace reactor_bindings
