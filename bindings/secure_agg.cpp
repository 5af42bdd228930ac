// Secure-aggregation arithmetic (mlforge/secure_agg.h): ChaCha20 masks, modular sums and fixed-point
// encoding, all in place on borrowed uint32/float arrays.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "array.h"
#include "mlforge/error.h"
#include "mlforge/secure_agg.h"

namespace py = pybind11;

namespace reactor_bindings {
namespace {

// Copies exactly N bytes from a Python bytes object; the name says which parameter was wrong.
template <std::size_t N>
std::array<std::uint8_t, N> fixed_bytes(const py::bytes& value, const char* op, const std::string& name) {
  const std::string raw = value;
  MLFORGE_CHECK(raw.size() == N, InvalidArgument, "[", op, "] ", name, " must be exactly ", N, " bytes, got ",
                raw.size());
  std::array<std::uint8_t, N> out{};
  std::memcpy(out.data(), raw.data(), N);
  return out;
}

}  // namespace

void init_secure_agg(py::module_& m) {
  m.def(
      "chacha20_block",
      [](const py::bytes& key, std::uint32_t counter, const py::bytes& nonce) {
        constexpr const char* op = "secure_agg.chacha20_block";
        const mlforge::ChaChaBlock words =
            mlforge::chacha20_block(fixed_bytes<32>(key, op, "key"), counter, fixed_bytes<12>(nonce, op, "nonce"));
        char bytes[64];
        for (std::size_t i = 0; i < 64; ++i) bytes[i] = static_cast<char>(words[i / 4] >> (8 * (i % 4)));
        return py::bytes(bytes, sizeof(bytes));
      },
      py::arg("key"), py::arg("counter"), py::arg("nonce"), "The 64 keystream bytes of one ChaCha20 block.");
  m.def(
      "chacha20_expand",
      [](py::handle out, const py::bytes& key, std::uint32_t counter, const py::bytes& nonce) {
        constexpr const char* op = "secure_agg.chacha20_expand";
        const auto k = fixed_bytes<32>(key, op, "seed");
        const auto n = fixed_bytes<12>(nonce, op, "nonce");
        const auto o = borrow_array(out, op, "out", Access::kWrite);
        py::gil_scoped_release nogil;
        mlforge::chacha20_expand(o.view(), k, counter, n);
      },
      py::arg("out"), py::arg("key"), py::arg("counter"), py::arg("nonce"),
      "Fill a uint32 array with ChaCha20 keystream words (RFC 8439).");
  m.def(
      "add_masks",
      [](py::handle acc, const std::vector<py::bytes>& seeds, const std::vector<int>& signs, std::uint32_t counter,
         const py::bytes& nonce) {
        constexpr const char* op = "secure_agg.add_masks";
        MLFORGE_CHECK(seeds.size() == signs.size(), InvalidArgument, "[", op,
                      "] seeds and signs must have one length, got ", seeds.size(), " seeds and ", signs.size(),
                      " signs");
        std::vector<mlforge::MaskSeed> masks;
        for (std::size_t s = 0; s < seeds.size(); ++s) {
          masks.push_back({fixed_bytes<32>(seeds[s], op, "seeds[" + std::to_string(s) + "]"), signs[s]});
        }
        const auto n = fixed_bytes<12>(nonce, op, "nonce");
        const auto a = borrow_array(acc, op, "acc", Access::kWrite);
        py::gil_scoped_release nogil;
        mlforge::add_masks(a.view(), masks, counter, n);
      },
      py::arg("acc"), py::arg("seeds"), py::arg("signs"), py::arg("counter"), py::arg("nonce"),
      "acc += sum_s signs[s] * ChaCha20(seeds[s]) mod 2^32, in place, in one pass.");
  m.def(
      "add_mod",
      [](py::handle acc, py::handle values, int sign) {
        const auto a = borrow_array(acc, "secure_agg.add_mod", "acc", Access::kWrite);
        const auto v = borrow_array(values, "secure_agg.add_mod", "values", Access::kRead);
        py::gil_scoped_release nogil;
        mlforge::add_mod(a.view(), v.view(), sign);
      },
      py::arg("acc"), py::arg("values"), py::arg("sign"), "acc += sign * values mod 2^32, in place.");
  m.def("fixed_point_levels", &mlforge::fixed_point_levels, py::arg("num_clients"),
        "Largest level count L with num_clients * L <= 2^31 - 1.");
  m.def(
      "quantize",
      [](py::handle x, double clip, std::int64_t levels, std::int64_t num_clients, py::handle out, bool clip_values) {
        const auto xv = borrow_array(x, "secure_agg.quantize", "x", Access::kRead);
        const auto o = borrow_array(out, "secure_agg.quantize", "out", Access::kWrite);
        py::gil_scoped_release nogil;
        mlforge::quantize(xv.view(), clip, levels, num_clients, o.view(),
                          clip_values ? mlforge::RangePolicy::kClip : mlforge::RangePolicy::kError);
      },
      py::arg("x"), py::arg("clip"), py::arg("levels"), py::arg("num_clients"), py::arg("out"),
      py::arg("clip_values"), "Fixed-point encode x into uint32 (two's complement) in out.");
  m.def(
      "dequantize",
      [](py::handle sum, double clip, std::int64_t levels, py::handle out) {
        const auto s = borrow_array(sum, "secure_agg.dequantize", "sum", Access::kRead);
        const auto o = borrow_array(out, "secure_agg.dequantize", "out", Access::kWrite);
        py::gil_scoped_release nogil;
        mlforge::dequantize(s.view(), clip, levels, o.view());
      },
      py::arg("sum"), py::arg("clip"), py::arg("levels"), py::arg("out"), "Decode a modular sum of encodings.");
}

}  // namespace reactor_bindings
