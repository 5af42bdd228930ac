#include <cmath>

#include "backend/cuda_entry.h"
#include "kernels/checks.h"
#include "mlforge/kernels.h"
#include "mlforge/parallel.h"

namespace mlforge {
namespace {

struct LossAndSlope {
  double loss;
  double slope;  // d loss / d x
};

// log sigma(z), log sigma(-z), sigma(z) and sigma(-z) from one exp and one log1p, without overflow:
// with e = exp(-|z|), log sigma(|z|) = -log1p(e) and log sigma(-|z|) = -|z| - log1p(e).
struct Sigmoids {
  double log_pos, log_neg, pos, neg;
};

Sigmoids sigmoids(double z) {
  const double e = std::exp(-std::fabs(z));
  const double softplus = std::log1p(e);
  const double large = 1.0 / (1.0 + e);  // sigma(|z|)
  const double small = e / (1.0 + e);    // sigma(-|z|)
  if (z >= 0) return {-softplus, -z - softplus, large, small};
  return {z - softplus, -softplus, small, large};
}

LossAndSlope evaluate(DpoLoss type, double x, double beta, double eps) {
  const double z = beta * x;
  switch (type) {
    case DpoLoss::kSigmoid: {
      const Sigmoids s = sigmoids(z);
      return {-(1.0 - eps) * s.log_pos - eps * s.log_neg, beta * (-(1.0 - eps) * s.neg + eps * s.pos)};
    }
    case DpoLoss::kRobust: {
      const Sigmoids s = sigmoids(z);
      return {(-(1.0 - eps) * s.log_pos + eps * s.log_neg) / (1.0 - 2.0 * eps),
              beta * (-(1.0 - eps) * s.neg - eps * s.pos) / (1.0 - 2.0 * eps)};
    }
    case DpoLoss::kHinge:
      return {std::fmax(0.0, 1.0 - z), 1.0 - z > 0.0 ? -beta : 0.0};
    case DpoLoss::kIpo: {
      const double gap = x - 1.0 / (2.0 * beta);
      return {gap * gap, 2.0 * gap};
    }
  }
  return {0.0, 0.0};
}

template <class T>
void run(const ArrayView& pc, const ArrayView& pr, const ArrayView& rc, const ArrayView& rr, double beta, DpoLoss type,
         double eps, const ArrayView& losses, const ArrayView& slopes) {
  const std::int64_t n = pc.shape(0);
  const T* a = static_cast<const T*>(pc.data());
  const T* b = static_cast<const T*>(pr.data());
  const T* c = static_cast<const T*>(rc.data());
  const T* d = static_cast<const T*>(rr.data());
  T* loss = static_cast<T*>(losses.data());
  T* slope = static_cast<T*>(slopes.data());
  for (std::int64_t i = 0; i < n; ++i) {  // validate first: a bad batch writes nothing
    MLFORGE_CHECK(std::isfinite(a[i]) && std::isfinite(b[i]) && std::isfinite(c[i]) && std::isfinite(d[i]),
                  InvalidArgument, "[kernels.dpo_loss] log-probabilities of pair ", i,
                  " are not finite (policy chosen ", a[i], ", rejected ", b[i], "; reference chosen ", c[i],
                  ", rejected ", d[i], ")");
  }
  parallel_for(0, n, 4096, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      const double x = (static_cast<double>(a[i]) - b[i]) - (static_cast<double>(c[i]) - d[i]);
      const LossAndSlope result = evaluate(type, x, beta, eps);
      loss[i] = static_cast<T>(result.loss);
      slope[i] = static_cast<T>(result.slope);
    }
  });
}

}  // namespace

void dpo_loss(const ArrayView& policy_chosen, const ArrayView& policy_rejected, const ArrayView& ref_chosen,
              const ArrayView& ref_rejected, double beta, DpoLoss type, double label_smoothing,
              const ArrayView& losses, const ArrayView& dloss_dx, Stream stream) {
  constexpr const char* op = "kernels.dpo_loss";
  MLFORGE_CHECK(policy_chosen.ndim() == 1, InvalidArgument, "[", op, "] policy_chosen: expected [B], got ",
                policy_chosen.describe());
  const std::int64_t n = policy_chosen.shape(0);
  const DType dtype = policy_chosen.dtype();
  MLFORGE_CHECK(dtype == DType::kFloat32 || dtype == DType::kFloat64, InvalidArgument, "[", op,
                "] policy_chosen: expected dtype float32 or float64, got ", policy_chosen.describe());
  const DeviceType where = policy_chosen.device().type;
  detail::require_array(op, "policy_chosen", policy_chosen, {dtype}, {n}, false, where);
  detail::require_array(op, "policy_rejected", policy_rejected, {dtype}, {n}, false, where);
  detail::require_array(op, "ref_chosen", ref_chosen, {dtype}, {n}, false, where);
  detail::require_array(op, "ref_rejected", ref_rejected, {dtype}, {n}, false, where);
  detail::require_array(op, "losses", losses, {dtype}, {n}, true, where);
  detail::require_array(op, "dloss_dx", dloss_dx, {dtype}, {n}, true, where);
  MLFORGE_CHECK(std::isfinite(beta) && beta > 0.0, InvalidArgument, "[", op, "] beta must be finite and > 0, got ",
                beta);
  const int kind = static_cast<int>(type);
  MLFORGE_CHECK(kind >= 0 && kind <= 3, InvalidArgument, "[", op, "] unknown loss type ", kind);
  const double upper = type == DpoLoss::kRobust ? 0.5 : 1.0;
  MLFORGE_CHECK(std::isfinite(label_smoothing) && label_smoothing >= 0.0 &&
                    (label_smoothing < upper || (upper == 1.0 && label_smoothing == 1.0)),
                InvalidArgument, "[", op, "] label_smoothing must be in [0, ", upper == 1.0 ? "1]" : "0.5)", ", got ",
                label_smoothing);
  if (where == DeviceType::kCUDA) {
    return detail::cuda::dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta, kind,
                                  label_smoothing, losses, dloss_dx, stream);
  }
  if (dtype == DType::kFloat32) {
    run<float>(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta, type, label_smoothing, losses, dloss_dx);
  } else {
    run<double>(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta, type, label_smoothing, losses,
                dloss_dx);
  }
}

}  // namespace mlforge
