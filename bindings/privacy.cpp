// Differential-privacy kernels (mlforge/privacy.h): clipping in place on borrowed updates, Gaussian
// noise in place, and the adaptive-clipping arithmetic.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

#include "array.h"
#include "mlforge/error.h"
#include "mlforge/privacy.h"
#include "rows.h"

namespace py = pybind11;

namespace reactor_bindings {
namespace {

// One update as a list (or tuple) of layer arrays of any shape, each borrowed writable in place.
Rows borrow_layers(py::handle layers, const char* op) {
  MLFORGE_CHECK(py::isinstance<py::list>(layers) || py::isinstance<py::tuple>(layers), InvalidArgument, "[", op,
                "] layers: expected a list of arrays, got ", std::string(py::str(py::type::of(layers))));
  Rows rows;
  const auto items = py::reinterpret_borrow<py::sequence>(layers);
  for (std::size_t l = 0; l < items.size(); ++l) {
    const std::string name = "layers[" + std::to_string(l) + "]";
    rows.owners.push_back(borrow_array(items[l], op, name.c_str(), Access::kWrite));
    rows.views.push_back(rows.owners.back().view());
  }
  return rows;
}

py::tuple as_tuple(const mlforge::AdaptiveClipResult& r) {
  return py::make_tuple(r.clip_norm, r.noisy_fraction, r.unclipped);
}

}  // namespace

void init_privacy(py::module_& m) {
  m.def(
      "clip_updates",
      [](py::handle updates, double clip_norm, py::handle norms) {
        constexpr const char* op = "privacy.clip_updates";
        const Rows rows = borrow_rows(updates, op, Access::kWrite);
        const auto n = borrow_array(norms, op, "norms", Access::kWrite);
        py::gil_scoped_release nogil;
        mlforge::clip_updates(rows.views, clip_norm, n.view());
      },
      py::arg("updates"), py::arg("clip_norm"), py::arg("norms"),
      "Flat L2 clipping of each update in place; writes the pre-clip norms.");
  m.def(
      "clip_update_layers",
      [](py::handle layers, double clip_norm) {
        const Rows rows = borrow_layers(layers, "privacy.clip_update_layers");
        py::gil_scoped_release nogil;
        return mlforge::clip_update_layers(rows.views, clip_norm);
      },
      py::arg("layers"), py::arg("clip_norm"), "Flat L2 clipping of one update given as layers; returns its norm.");
  m.def(
      "clip_layers",
      [](py::handle layers, py::handle clip_norms, py::handle norms) {
        constexpr const char* op = "privacy.clip_layers";
        const Rows rows = borrow_layers(layers, op);
        const auto bounds = borrow_array(clip_norms, op, "clip_norms", Access::kRead);
        const auto n = borrow_array(norms, op, "norms", Access::kWrite);
        py::gil_scoped_release nogil;
        mlforge::clip_layers(rows.views, bounds.view(), n.view());
      },
      py::arg("layers"), py::arg("clip_norms"), py::arg("norms"),
      "Per-layer L2 clipping of one update in place; writes the per-layer pre-clip norms.");
  m.def(
      "add_gaussian_noise",
      [](py::handle out, double stddev, std::uint64_t seed, std::uint64_t round) {
        const auto o = borrow_array(out, "privacy.add_gaussian_noise", "out", Access::kWrite);
        py::gil_scoped_release nogil;
        mlforge::add_gaussian_noise(o.view(), stddev, seed, round);
      },
      py::arg("out"), py::arg("stddev"), py::arg("seed"), py::arg("round"),
      "out += stddev * N(0, 1) from Philox (seed, stream=round), in place.");
  m.def(
      "adaptive_clip_update",
      [](double clip_norm, std::int64_t unclipped, double num_clients, double target_quantile,
         double learning_rate, double count_noise) {
        return as_tuple(mlforge::adaptive_clip_update(clip_norm, unclipped, num_clients, target_quantile,
                                                      learning_rate, count_noise));
      },
      py::arg("clip_norm"), py::arg("unclipped"), py::arg("num_clients"), py::arg("target_quantile"),
      py::arg("learning_rate"), py::arg("count_noise"), "Andrew et al. 2021 geometric clip update.");
  m.def(
      "adaptive_clip_step",
      [](py::handle norms, double clip_norm, double target_quantile, double learning_rate, double count_stddev,
         std::uint64_t seed, std::uint64_t round) {
        const auto n = borrow_array(norms, "privacy.adaptive_clip_step", "norms", Access::kRead);
        return as_tuple(mlforge::adaptive_clip_step(n.view(), clip_norm, target_quantile, learning_rate, count_stddev,
                                                    seed, round));
      },
      py::arg("norms"), py::arg("clip_norm"), py::arg("target_quantile"), py::arg("learning_rate"),
      py::arg("count_stddev"), py::arg("seed"), py::arg("round"), "One adaptive-clipping round from update norms.");
  m.def("adaptive_noise_multiplier", &mlforge::adaptive_noise_multiplier, py::arg("noise_multiplier"),
        py::arg("count_stddev"), "z_delta = (z^-2 - (2 sigma_b)^-2)^(-1/2).");
}

}  // namespace reactor_bindings
