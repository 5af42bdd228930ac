#include <cmath>

#include "backend/cuda_entry.h"
#include "kernels/checks.h"
#include "mlforge/kernels.h"
#include "mlforge/parallel.h"

namespace mlforge {

void gae(const ArrayView& rewards, const ArrayView& values, const ArrayView& dones, double gamma, double lambda,
         const ArrayView& advantages, const ArrayView& returns, Stream stream) {
  constexpr const char* op = "kernels.gae";
  MLFORGE_CHECK(rewards.ndim() == 2, InvalidArgument, "[", op, "] rewards: expected [B, T], got ", rewards.describe());
  const std::int64_t batch = rewards.shape(0);
  const std::int64_t steps = rewards.shape(1);
  const DeviceType where = rewards.device().type;
  detail::require_array(op, "rewards", rewards, {DType::kFloat32}, {batch, steps}, false, where);
  detail::require_array(op, "values", values, {DType::kFloat32}, {batch, steps + 1}, false, where);
  detail::require_array(op, "dones", dones, {DType::kBool, DType::kUInt8, DType::kFloat32}, {batch, steps}, false,
                        where);
  detail::require_array(op, "advantages", advantages, {DType::kFloat32}, {batch, steps}, true, where);
  detail::require_array(op, "returns", returns, {DType::kFloat32}, {batch, steps}, true, where);
  MLFORGE_CHECK(std::isfinite(gamma) && gamma >= 0.0 && gamma <= 1.0, InvalidArgument, "[", op,
                "] gamma must be in [0, 1], got ", gamma);
  MLFORGE_CHECK(std::isfinite(lambda) && lambda >= 0.0 && lambda <= 1.0, InvalidArgument, "[", op,
                "] lambda must be in [0, 1], got ", lambda);
  if (where == DeviceType::kCUDA) return detail::cuda::gae(rewards, values, dones, gamma, lambda, advantages, returns, stream);

  const auto* r = static_cast<const float*>(rewards.data());
  const auto* v = static_cast<const float*>(values.data());
  auto* adv = static_cast<float*>(advantages.data());
  auto* ret = static_cast<float*>(returns.data());
  parallel_for(0, batch, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t b = lo; b < hi; ++b) {
      const float* rb = r + b * steps;
      const float* vb = v + b * (steps + 1);
      double running = 0.0;
      for (std::int64_t t = steps - 1; t >= 0; --t) {
        const double not_done = 1.0 - detail::mask_value(dones, b * steps + t);
        const double delta = rb[t] + gamma * vb[t + 1] * not_done - vb[t];
        running = delta + gamma * lambda * not_done * running;
        adv[b * steps + t] = static_cast<float>(running);
        ret[b * steps + t] = static_cast<float>(running + vb[t]);
      }
    }
  });
}

}  // namespace mlforge
