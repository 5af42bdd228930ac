#include <cmath>
#include <type_traits>

#include "backend/cuda_entry.h"
#include "core/simd.h"
#include "kernels/fast_math.h"
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
// with e = exp(-|z|), log sigma(|z|) = -log1p(e) and log sigma(-|z|) = -|z| - log1p(e). The exp and
// log1p are fast_math.h's, so the loops below vectorise.
struct Sigmoids {
  double log_pos, log_neg, pos, neg;
};

MLFORGE_ALWAYS_INLINE Sigmoids sigmoids(double z) {
  const double magnitude = std::fabs(z);
  const double e = detail::fast_exp_nonpositive(-magnitude);
  const double softplus = detail::fast_log1p_unit(e);
  const double large = 1.0 / (1.0 + e);  // sigma(|z|)
  const double small = e * large;        // sigma(-|z|)
  const bool positive = z >= 0.0;
  return {positive ? -softplus : z - softplus, positive ? -z - softplus : -softplus, positive ? large : small,
          positive ? small : large};
}

// One loss type over pairs [lo, hi): x = (a - b) - (c - d), loss and d loss / d x.
template <DpoLoss kType, class T>
MLFORGE_ALWAYS_INLINE void evaluate_rows(const T* a, const T* b, const T* c, const T* d, T* loss, T* slope,
                                         std::int64_t lo, std::int64_t hi, double beta, double eps) {
  for (std::int64_t i = lo; i < hi; ++i) {
    const double x = (static_cast<double>(a[i]) - b[i]) - (static_cast<double>(c[i]) - d[i]);
    const double z = beta * x;
    double value = 0.0, derivative = 0.0;
    if constexpr (kType == DpoLoss::kSigmoid) {
      const Sigmoids s = sigmoids(z);
      value = -(1.0 - eps) * s.log_pos - eps * s.log_neg;
      derivative = beta * (-(1.0 - eps) * s.neg + eps * s.pos);
    } else if constexpr (kType == DpoLoss::kRobust) {
      const Sigmoids s = sigmoids(z);
      value = (-(1.0 - eps) * s.log_pos + eps * s.log_neg) / (1.0 - 2.0 * eps);
      derivative = beta * (-(1.0 - eps) * s.neg - eps * s.pos) / (1.0 - 2.0 * eps);
    } else if constexpr (kType == DpoLoss::kHinge) {
      value = 1.0 - z > 0.0 ? 1.0 - z : 0.0;
      derivative = 1.0 - z > 0.0 ? -beta : 0.0;
    } else {
      const double gap = x - 1.0 / (2.0 * beta);
      value = gap * gap;
      derivative = 2.0 * gap;
    }
    loss[i] = static_cast<T>(value);
    slope[i] = static_cast<T>(derivative);
  }
}

// The loss type is fixed per call, so each loop is branch-free and vectorises (per ISA clone).
template <class T>
MLFORGE_ALWAYS_INLINE void evaluate_block(const T* a, const T* b, const T* c, const T* d, T* loss, T* slope,
                                          std::int64_t lo, std::int64_t hi, DpoLoss type, double beta, double eps) {
  switch (type) {
    case DpoLoss::kSigmoid: return evaluate_rows<DpoLoss::kSigmoid>(a, b, c, d, loss, slope, lo, hi, beta, eps);
    case DpoLoss::kRobust: return evaluate_rows<DpoLoss::kRobust>(a, b, c, d, loss, slope, lo, hi, beta, eps);
    case DpoLoss::kHinge: return evaluate_rows<DpoLoss::kHinge>(a, b, c, d, loss, slope, lo, hi, beta, eps);
    case DpoLoss::kIpo: return evaluate_rows<DpoLoss::kIpo>(a, b, c, d, loss, slope, lo, hi, beta, eps);
  }
}

MLFORGE_TARGET_CLONES void evaluate_block_f32(const float* a, const float* b, const float* c, const float* d,
                                              float* loss, float* slope, std::int64_t lo, std::int64_t hi,
                                              DpoLoss type, double beta, double eps) {
  evaluate_block(a, b, c, d, loss, slope, lo, hi, type, beta, eps);
}

MLFORGE_TARGET_CLONES void evaluate_block_f64(const double* a, const double* b, const double* c, const double* d,
                                              double* loss, double* slope, std::int64_t lo, std::int64_t hi,
                                              DpoLoss type, double beta, double eps) {
  evaluate_block(a, b, c, d, loss, slope, lo, hi, type, beta, eps);
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
  parallel_for(0, n, 1 << 14, [&](std::int64_t lo, std::int64_t hi) {
    if constexpr (std::is_same_v<T, float>) {
      evaluate_block_f32(a, b, c, d, loss, slope, lo, hi, type, beta, eps);
    } else {
      evaluate_block_f64(a, b, c, d, loss, slope, lo, hi, type, beta, eps);
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
