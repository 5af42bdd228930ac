#include <cmath>

#include "backend/cuda_entry.h"
#include "core/simd.h"
#include "kernels/checks.h"
#include "mlforge/kernels.h"
#include "mlforge/parallel.h"

namespace mlforge {
namespace {

struct AdamScalars {
  float lr, beta1, beta2, eps, weight_decay, step_size, bias_correction2_sqrt;
  bool decoupled;
};

// Element-wise in float32 in torch's order of operations, so results track torch to rounding.
// The weight-decay flavour is a template parameter so the loop has no branch and vectorises.
template <bool kDecoupled>
MLFORGE_ALWAYS_INLINE void adam_loop(float* __restrict p, const float* __restrict g_in, float* __restrict m,
                                     float* __restrict v, std::int64_t n, const AdamScalars& s) {
  const float decay = 1.0f - s.lr * s.weight_decay;
  for (std::int64_t i = 0; i < n; ++i) {
    float g = g_in[i];
    if constexpr (kDecoupled) {
      p[i] *= decay;
    } else {
      g += s.weight_decay * p[i];
    }
    m[i] += (1.0f - s.beta1) * (g - m[i]);
    v[i] = s.beta2 * v[i] + (1.0f - s.beta2) * g * g;
    const float denom = std::sqrt(v[i]) / s.bias_correction2_sqrt + s.eps;
    p[i] -= s.step_size * (m[i] / denom);
  }
}

MLFORGE_TARGET_CLONES void adam_range(float* p, const float* g_in, float* m, float* v, std::int64_t n, AdamScalars s) {
  if (s.decoupled) {
    adam_loop<true>(p, g_in, m, v, n, s);
  } else {
    adam_loop<false>(p, g_in, m, v, n, s);
  }
}

}  // namespace

void adam_step(const ArrayView& param, const ArrayView& grad, const ArrayView& exp_avg, const ArrayView& exp_avg_sq,
               std::int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay,
               bool decoupled_weight_decay, Stream stream) {
  constexpr const char* op = "kernels.adam_step";
  const std::int64_t n = param.numel();
  detail::require_like(op, "param", param, param, DType::kFloat32, true);
  detail::require_like(op, "grad", grad, param, DType::kFloat32);
  detail::require_like(op, "exp_avg", exp_avg, param, DType::kFloat32, true);
  detail::require_like(op, "exp_avg_sq", exp_avg_sq, param, DType::kFloat32, true);
  MLFORGE_CHECK(step >= 1, InvalidArgument, "[", op, "] step must be >= 1, got ", step);
  MLFORGE_CHECK(std::isfinite(lr) && lr >= 0.0, InvalidArgument, "[", op, "] lr must be finite and >= 0, got ", lr);
  MLFORGE_CHECK(beta1 >= 0.0 && beta1 < 1.0, InvalidArgument, "[", op, "] beta1 must be in [0, 1), got ", beta1);
  MLFORGE_CHECK(beta2 >= 0.0 && beta2 < 1.0, InvalidArgument, "[", op, "] beta2 must be in [0, 1), got ", beta2);
  MLFORGE_CHECK(std::isfinite(eps) && eps >= 0.0, InvalidArgument, "[", op, "] eps must be finite and >= 0, got ", eps);
  MLFORGE_CHECK(std::isfinite(weight_decay) && weight_decay >= 0.0, InvalidArgument, "[", op,
                "] weight_decay must be finite and >= 0, got ", weight_decay);
  if (param.device().is_cuda()) {
    return detail::cuda::adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay,
                                   decoupled_weight_decay, stream);
  }
  const double bias_correction1 = 1.0 - std::pow(beta1, static_cast<double>(step));
  const double bias_correction2 = 1.0 - std::pow(beta2, static_cast<double>(step));
  const AdamScalars s{static_cast<float>(lr),
                      static_cast<float>(beta1),
                      static_cast<float>(beta2),
                      static_cast<float>(eps),
                      static_cast<float>(weight_decay),
                      static_cast<float>(lr / bias_correction1),
                      static_cast<float>(std::sqrt(bias_correction2)),
                      decoupled_weight_decay};
  auto* p = static_cast<float*>(param.data());
  const auto* g = static_cast<const float*>(grad.data());
  auto* m = static_cast<float*>(exp_avg.data());
  auto* v = static_cast<float*>(exp_avg_sq.data());
  parallel_for(0, n, 1 << 14, [&](std::int64_t lo, std::int64_t hi) { adam_range(p + lo, g + lo, m + lo, v + lo, hi - lo, s); });
}

}  // namespace mlforge
