// Robust aggregation rules (mlforge/aggregate.h) over borrowed client updates.
#include <pybind11/pybind11.h>

#include <cstdint>

#include "array.h"
#include "mlforge/aggregate.h"
#include "rows.h"

namespace py = pybind11;

namespace reactor_bindings {

void init_rules(py::module_& m) {
  m.def(
      "krum_scores",
      [](py::handle updates, std::int64_t f, py::handle scores) {
        const Rows rows = borrow_rows(updates, "aggregate.krum", Access::kRead);
        const auto s = borrow_array(scores, "aggregate.krum", "scores", Access::kWrite);
        py::gil_scoped_release nogil;
        mlforge::krum_scores(rows.views, f, s.view());
      },
      py::arg("updates"), py::arg("f"), py::arg("scores"), "Krum scores of the updates.");
  m.def(
      "multi_krum",
      [](py::handle updates, std::int64_t f, std::int64_t count, py::handle out, py::handle selected) {
        const Rows rows = borrow_rows(updates, "aggregate.multi_krum", Access::kRead);
        const auto o = borrow_array(out, "aggregate.multi_krum", "out", Access::kWrite);
        const auto s = borrow_array(selected, "aggregate.multi_krum", "selected", Access::kWrite);
        py::gil_scoped_release nogil;
        mlforge::multi_krum(rows.views, f, count, o.view(), s.view());
      },
      py::arg("updates"), py::arg("f"), py::arg("m"), py::arg("out"), py::arg("selected"),
      "Mean of the m updates with the lowest Krum scores.");
  m.def(
      "bulyan",
      [](py::handle updates, std::int64_t f, py::handle out) {
        const Rows rows = borrow_rows(updates, "aggregate.bulyan", Access::kRead);
        const auto o = borrow_array(out, "aggregate.bulyan", "out", Access::kWrite);
        py::gil_scoped_release nogil;
        mlforge::bulyan(rows.views, f, o.view());
      },
      py::arg("updates"), py::arg("f"), py::arg("out"), "Bulyan (recursive Krum + trimmed around the median).");
  m.def(
      "geometric_median",
      [](py::handle updates, py::handle weights, double nu, std::int64_t max_iter, double ftol, py::handle out) {
        const Rows rows = borrow_rows(updates, "aggregate.geometric_median", Access::kRead);
        const auto w = borrow_array(weights, "aggregate.geometric_median", "weights", Access::kRead);
        const auto o = borrow_array(out, "aggregate.geometric_median", "out", Access::kWrite);
        py::gil_scoped_release nogil;
        return mlforge::geometric_median(rows.views, w.view(), nu, max_iter, ftol, o.view());
      },
      py::arg("updates"), py::arg("weights"), py::arg("nu"), py::arg("max_iter"), py::arg("ftol"), py::arg("out"),
      "Smoothed Weiszfeld geometric median; returns the iterations made.");
  m.def(
      "server_optimizer_step",
      [](int type, py::handle params, py::handle delta, py::handle first, py::object second, double eta, double beta1,
         double beta2, double tau) {
        constexpr const char* op = "aggregate.server_optimizer";
        const auto x = borrow_array(params, op, "params", Access::kWrite);
        const auto d = borrow_array(delta, op, "delta", Access::kRead);
        const auto m1 = borrow_array(first, op, "m", Access::kWrite);
        BorrowedArray m2;
        if (!second.is_none()) m2 = borrow_array(second, op, "v", Access::kWrite);
        py::gil_scoped_release nogil;
        mlforge::server_optimizer_step(static_cast<mlforge::ServerOptimizer>(type), x.view(), d.view(), m1.view(),
                                       m2.view(), eta, beta1, beta2, tau);
      },
      py::arg("type"), py::arg("params"), py::arg("delta"), py::arg("m"), py::arg("v"), py::arg("eta"),
      py::arg("beta1"), py::arg("beta2"), py::arg("tau"),
      "One fused server-optimizer step (0 FedAvgM, 1 FedAdagrad, 2 FedYogi, 3 FedAdam) in place.");
  m.def(
      "centered_clip",
      [](py::handle updates, double tau, std::int64_t iterations, py::object center, py::handle out) {
        const Rows rows = borrow_rows(updates, "aggregate.centered_clip", Access::kRead);
        const auto o = borrow_array(out, "aggregate.centered_clip", "out", Access::kWrite);
        BorrowedArray c;
        if (!center.is_none()) c = borrow_array(center, "aggregate.centered_clip", "center", Access::kRead);
        py::gil_scoped_release nogil;
        mlforge::centered_clip(rows.views, tau, iterations, c.view(), o.view());
      },
      py::arg("updates"), py::arg("tau"), py::arg("iterations"), py::arg("center"), py::arg("out"),
      "Centered clipping, starting from center (None: zeros).");
}

}  // namespace reactor_bindings
