// Training kernels. Outputs are caller-provided arrays (numpy or torch, borrowed writable), so
// torch callers keep torch tensors end to end and nothing is copied.
#include <pybind11/pybind11.h>

#include <cstdint>

#include "array.h"
#include "mlforge/kernels.h"

namespace py = pybind11;

namespace reactor_bindings {

void init_training(py::module_& m) {
  m.def(
      "sequence_logprobs",
      [](py::handle logits, py::handle targets, py::handle mask, py::handle seq_logps, py::handle lse, std::uintptr_t stream) {
        constexpr const char* op = "kernels.sequence_logprobs";
        const auto x = borrow_array(logits, op, "logits", Access::kRead, stream);
        const auto y = borrow_array(targets, op, "targets", Access::kRead, stream);
        const auto w = borrow_array(mask, op, "mask", Access::kRead, stream);
        const auto out = borrow_array(seq_logps, op, "seq_logps", Access::kWrite, stream);
        const auto saved = borrow_array(lse, op, "lse", Access::kWrite, stream);
        py::gil_scoped_release nogil;
        mlforge::sequence_logprobs(x.view(), y.view(), w.view(), out.view(), saved.view(),
                 as_stream(stream));
      },
      py::arg("logits"), py::arg("targets"), py::arg("mask"), py::arg("seq_logps"), py::arg("lse"), py::arg("stream") = 0,
      "Fused log-softmax + gather + masked sum: writes seq_logps [B] and lse [B, T].");
  m.def(
      "sequence_logprobs_backward",
      [](py::handle logits, py::handle targets, py::handle mask, py::handle lse, py::handle grad_seq,
         py::handle grad_logits, std::uintptr_t stream) {
        constexpr const char* op = "kernels.sequence_logprobs_backward";
        const auto x = borrow_array(logits, op, "logits", Access::kRead, stream);
        const auto y = borrow_array(targets, op, "targets", Access::kRead, stream);
        const auto w = borrow_array(mask, op, "mask", Access::kRead, stream);
        const auto saved = borrow_array(lse, op, "lse", Access::kRead, stream);
        const auto g = borrow_array(grad_seq, op, "grad_seq", Access::kRead, stream);
        const auto out = borrow_array(grad_logits, op, "grad_logits", Access::kWrite, stream);
        py::gil_scoped_release nogil;
        mlforge::sequence_logprobs_backward(x.view(), y.view(), w.view(), saved.view(), g.view(), out.view(),
                 as_stream(stream));
      },
      py::arg("logits"), py::arg("targets"), py::arg("mask"), py::arg("lse"), py::arg("grad_seq"),
      py::arg("grad_logits"), py::arg("stream") = 0, "Backward of sequence_logprobs into grad_logits [B, T, V].");
  m.def(
      "dpo_loss",
      [](py::handle pc, py::handle pr, py::handle rc, py::handle rr, double beta, int loss_type,
         double label_smoothing, py::handle losses, py::handle dloss_dx, std::uintptr_t stream) {
        constexpr const char* op = "kernels.dpo_loss";
        const auto a = borrow_array(pc, op, "policy_chosen", Access::kRead, stream);
        const auto b = borrow_array(pr, op, "policy_rejected", Access::kRead, stream);
        const auto c = borrow_array(rc, op, "ref_chosen", Access::kRead, stream);
        const auto d = borrow_array(rr, op, "ref_rejected", Access::kRead, stream);
        const auto out = borrow_array(losses, op, "losses", Access::kWrite, stream);
        const auto slope = borrow_array(dloss_dx, op, "dloss_dx", Access::kWrite, stream);
        py::gil_scoped_release nogil;
        mlforge::dpo_loss(a.view(), b.view(), c.view(), d.view(), beta, static_cast<mlforge::DpoLoss>(loss_type),
                          label_smoothing, out.view(), slope.view(),
                 as_stream(stream));
      },
      py::arg("policy_chosen"), py::arg("policy_rejected"), py::arg("ref_chosen"), py::arg("ref_rejected"),
      py::arg("beta"), py::arg("loss_type"), py::arg("label_smoothing"), py::arg("losses"), py::arg("dloss_dx"), py::arg("stream") = 0,
      "DPO loss family (0 sigmoid, 1 ipo, 2 hinge, 3 robust): writes losses and d loss / d logits.");
  m.def(
      "gae",
      [](py::handle rewards, py::handle values, py::handle dones, double gamma, double lambda, py::handle advantages,
         py::handle returns, std::uintptr_t stream) {
        constexpr const char* op = "kernels.gae";
        const auto r = borrow_array(rewards, op, "rewards", Access::kRead, stream);
        const auto v = borrow_array(values, op, "values", Access::kRead, stream);
        const auto d = borrow_array(dones, op, "dones", Access::kRead, stream);
        const auto a = borrow_array(advantages, op, "advantages", Access::kWrite, stream);
        const auto g = borrow_array(returns, op, "returns", Access::kWrite, stream);
        py::gil_scoped_release nogil;
        mlforge::gae(r.view(), v.view(), d.view(), gamma, lambda, a.view(), g.view(),
                 as_stream(stream));
      },
      py::arg("rewards"), py::arg("values"), py::arg("dones"), py::arg("gamma"), py::arg("lam"),
      py::arg("advantages"), py::arg("returns"), py::arg("stream") = 0, "Generalised advantage estimation by reverse scan.");
  m.def(
      "adam_step",
      [](py::handle param, py::handle grad, py::handle exp_avg, py::handle exp_avg_sq, std::int64_t step, double lr,
         double beta1, double beta2, double eps, double weight_decay, bool decoupled, std::uintptr_t stream) {
        constexpr const char* op = "kernels.adam_step";
        const auto p = borrow_array(param, op, "param", Access::kWrite, stream);
        const auto g = borrow_array(grad, op, "grad", Access::kRead, stream);
        const auto m1 = borrow_array(exp_avg, op, "exp_avg", Access::kWrite, stream);
        const auto m2 = borrow_array(exp_avg_sq, op, "exp_avg_sq", Access::kWrite, stream);
        py::gil_scoped_release nogil;
        mlforge::adam_step(p.view(), g.view(), m1.view(), m2.view(), step, lr, beta1, beta2, eps, weight_decay,
                           decoupled,
                 as_stream(stream));
      },
      py::arg("param"), py::arg("grad"), py::arg("exp_avg"), py::arg("exp_avg_sq"), py::arg("step"), py::arg("lr"),
      py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"), py::arg("decoupled"), py::arg("stream") = 0,
      "One fused Adam/AdamW step in place (torch.optim semantics).");
  m.def(
      "stream_triad",
      [](py::handle a, py::handle b, py::handle c, double scalar) {
        constexpr const char* op = "kernels.stream_triad";
        const auto out = borrow_array(a, op, "a", Access::kWrite);
        const auto x = borrow_array(b, op, "b", Access::kRead);
        const auto y = borrow_array(c, op, "c", Access::kRead);
        py::gil_scoped_release nogil;
        mlforge::stream_triad(out.view(), x.view(), y.view(), scalar);
      },
      py::arg("a"), py::arg("b"), py::arg("c"), py::arg("scalar"), "STREAM triad a = b + scalar * c (float64).");
}

}  // namespace reactor_bindings
