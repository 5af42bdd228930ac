// Aggregation kernels. Client updates arrive as one (K, D) array or a list of K 1-D arrays; both
// become K borrowed row views, without copies.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <vector>

#include "array.h"
#include "rows.h"
#include "mlforge/kernels.h"

namespace py = pybind11;

namespace reactor_bindings {

namespace {

using RowsToOut = void (*)(const std::vector<mlforge::ArrayView>&, const mlforge::ArrayView&, mlforge::Stream);

mlforge::NonFinite non_finite_mode(bool reject) {
  return reject ? mlforge::NonFinite::kReject : mlforge::NonFinite::kPropagate;
}

// The kernels that read the updates and write one output array share one binding shape.
void def_rows_to_out(py::module_& m, const char* name, const char* op, RowsToOut kernel, const char* doc) {
  m.def(
      name,
      [op, kernel](py::handle updates, py::handle out, std::uintptr_t stream) {
        const Rows rows = borrow_rows(updates, op, Access::kRead, stream);
        const auto o = borrow_array(out, op, "out", Access::kWrite, stream);
        py::gil_scoped_release nogil;
        kernel(rows.views, o.view(), as_stream(stream));
      },
      py::arg("updates"), py::arg("out"), py::arg("stream") = 0, doc);
}

}  // namespace

void init_aggregate(py::module_& m) {
  m.def(
      "coordinate_median",
      [](py::handle updates, py::handle out, std::uintptr_t stream, bool reject_non_finite) {
        constexpr const char* op = "kernels.coordinate_median";
        const Rows rows = borrow_rows(updates, op, Access::kRead, stream);
        const auto o = borrow_array(out, op, "out", Access::kWrite, stream);
        py::gil_scoped_release nogil;
        mlforge::coordinate_median(rows.views, o.view(), as_stream(stream), non_finite_mode(reject_non_finite));
      },
      py::arg("updates"), py::arg("out"), py::arg("stream") = 0, py::arg("reject_non_finite") = false,
      "Coordinate-wise median over the K updates; reject_non_finite: NaN/inf raise, naming the update.");
  def_rows_to_out(m, "pairwise_sq_distances", "kernels.pairwise_sq_distances", &mlforge::pairwise_sq_distances,
                  "Centred squared distances between updates, (K, K) float64.");
  def_rows_to_out(m, "row_norms", "kernels.row_norms", &mlforge::row_norms, "L2 norm of each update, float64.");
  m.def(
      "weighted_sum",
      [](py::handle updates, py::handle weights, py::handle out, std::uintptr_t stream) {
        constexpr const char* op = "kernels.weighted_sum";
        const Rows rows = borrow_rows(updates, op, Access::kRead, stream);
        const auto w = borrow_array(weights, op, "weights", Access::kRead, stream);
        const auto o = borrow_array(out, op, "out", Access::kWrite, stream);
        py::gil_scoped_release nogil;
        mlforge::weighted_sum(rows.views, w.view(), o.view(), as_stream(stream));
      },
      py::arg("updates"), py::arg("weights"), py::arg("out"), py::arg("stream") = 0, "out = sum_k weights[k] * updates[k] (float64 sums).");
  m.def(
      "coordinate_trimmed_mean",
      [](py::handle updates, double beta, py::handle out, std::uintptr_t stream, bool reject_non_finite) {
        constexpr const char* op = "kernels.coordinate_trimmed_mean";
        const Rows rows = borrow_rows(updates, op, Access::kRead, stream);
        const auto o = borrow_array(out, op, "out", Access::kWrite, stream);
        py::gil_scoped_release nogil;
        mlforge::coordinate_trimmed_mean(rows.views, beta, o.view(), as_stream(stream), non_finite_mode(reject_non_finite));
      },
      py::arg("updates"), py::arg("beta"), py::arg("out"), py::arg("stream") = 0, py::arg("reject_non_finite") = false,
      "Coordinate-wise trimmed mean (beta cut on each side); reject_non_finite: NaN/inf raise, naming the update.");
  m.def(
      "clip_rows",
      [](py::handle updates, double max_norm, py::handle norms, std::uintptr_t stream) {
        constexpr const char* op = "kernels.clip_rows";
        const Rows rows = borrow_rows(updates, op, Access::kWrite, stream);
        const auto n = borrow_array(norms, op, "norms", Access::kWrite, stream);
        py::gil_scoped_release nogil;
        mlforge::clip_rows(rows.views, max_norm, n.view(), as_stream(stream));
      },
      py::arg("updates"), py::arg("max_norm"), py::arg("norms"), py::arg("stream") = 0, "Clip each update to L2 norm max_norm, in place.");
}

}  // namespace reactor_bindings
