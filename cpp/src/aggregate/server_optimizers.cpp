// Fused server-optimizer steps (see mlforge/aggregate.h for the update rules).
#include <cmath>

#include "core/simd.h"
#include "kernels/checks.h"
#include "mlforge/aggregate.h"
#include "mlforge/error.h"
#include "mlforge/parallel.h"

namespace mlforge {
namespace {

struct Hyper {
  float eta, beta1, beta2, tau;
};

// The optimizer is a template parameter so each loop is branch-free and vectorises.
template <ServerOptimizer kType>
MLFORGE_ALWAYS_INLINE void step_loop(float* __restrict x, const float* __restrict delta, float* __restrict m,
                                     float* __restrict v, std::int64_t n, const Hyper& h) {
  for (std::int64_t i = 0; i < n; ++i) {
    const float d = delta[i];
    if constexpr (kType == ServerOptimizer::kFedAvgM) {
      m[i] = h.beta1 * m[i] + d;
      x[i] += h.eta * m[i];
    } else {
      m[i] = h.beta1 * m[i] + (1.0f - h.beta1) * d;
      const float d2 = d * d;
      if constexpr (kType == ServerOptimizer::kFedAdagrad) {
        v[i] = v[i] + d2;
      } else if constexpr (kType == ServerOptimizer::kFedYogi) {
        const float gap = v[i] - d2;
        const float sign = gap > 0.0f ? 1.0f : (gap < 0.0f ? -1.0f : 0.0f);
        v[i] = v[i] - (1.0f - h.beta2) * d2 * sign;
      } else {
        v[i] = h.beta2 * v[i] + (1.0f - h.beta2) * d2;
      }
      x[i] += h.eta * m[i] / (std::sqrt(v[i]) + h.tau);
    }
  }
}

MLFORGE_TARGET_CLONES void step_range(ServerOptimizer type, float* x, const float* delta, float* m, float* v,
                                      std::int64_t n, Hyper h) {
  switch (type) {
    case ServerOptimizer::kFedAvgM: step_loop<ServerOptimizer::kFedAvgM>(x, delta, m, v, n, h); break;
    case ServerOptimizer::kFedAdagrad: step_loop<ServerOptimizer::kFedAdagrad>(x, delta, m, v, n, h); break;
    case ServerOptimizer::kFedYogi: step_loop<ServerOptimizer::kFedYogi>(x, delta, m, v, n, h); break;
    case ServerOptimizer::kFedAdam: step_loop<ServerOptimizer::kFedAdam>(x, delta, m, v, n, h); break;
  }
}

}  // namespace

void server_optimizer_step(ServerOptimizer type, const ArrayView& params, const ArrayView& delta, const ArrayView& m,
                           const ArrayView& v, double eta, double beta1, double beta2, double tau) {
  constexpr const char* op = "aggregate.server_optimizer";
  const int kind = static_cast<int>(type);
  MLFORGE_CHECK(kind >= 0 && kind <= 3, InvalidArgument, "[", op, "] unknown optimizer ", kind);
  detail::require_like(op, "params", params, params, DType::kFloat32, true);
  detail::require_like(op, "delta", delta, params, DType::kFloat32);
  detail::require_like(op, "m", m, params, DType::kFloat32, true);
  const bool adaptive = type != ServerOptimizer::kFedAvgM;
  if (adaptive) detail::require_like(op, "v", v, params, DType::kFloat32, true);
  MLFORGE_CHECK(std::isfinite(eta) && eta > 0.0, InvalidArgument, "[", op, "] eta must be finite and > 0, got ", eta);
  MLFORGE_CHECK(beta1 >= 0.0 && beta1 < 1.0, InvalidArgument, "[", op, "] beta_1 must be in [0, 1), got ", beta1);
  MLFORGE_CHECK(!adaptive || (beta2 >= 0.0 && beta2 < 1.0), InvalidArgument, "[", op, "] beta_2 must be in [0, 1), got ",
                beta2);
  MLFORGE_CHECK(!adaptive || (std::isfinite(tau) && tau > 0.0), InvalidArgument, "[", op,
                "] tau must be finite and > 0, got ", tau);
  const Hyper h{static_cast<float>(eta), static_cast<float>(beta1), static_cast<float>(beta2), static_cast<float>(tau)};
  auto* x = static_cast<float*>(params.data());
  const auto* d = static_cast<const float*>(delta.data());
  auto* first = static_cast<float*>(m.data());
  auto* second = adaptive ? static_cast<float*>(v.data()) : nullptr;
  parallel_for(0, params.numel(), 1 << 14, [&](std::int64_t lo, std::int64_t hi) {
    step_range(type, x + lo, d + lo, first + lo, second ? second + lo : nullptr, hi - lo, h);
  });
}

}  // namespace mlforge
