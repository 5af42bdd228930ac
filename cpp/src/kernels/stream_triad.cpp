#include "core/simd.h"
#include "kernels/checks.h"
#include "mlforge/kernels.h"
#include "mlforge/parallel.h"

namespace mlforge {
namespace {

MLFORGE_TARGET_CLONES void triad_range(double* a, const double* b, const double* c, double scalar, std::int64_t lo,
                                       std::int64_t hi) {
  for (std::int64_t i = lo; i < hi; ++i) a[i] = b[i] + scalar * c[i];
}

}  // namespace

void stream_triad(const ArrayView& a, const ArrayView& b, const ArrayView& c, double scalar) {
  constexpr const char* op = "kernels.stream_triad";
  const std::int64_t n = a.ndim() == 1 ? a.shape(0) : -1;
  detail::require_array(op, "a", a, {DType::kFloat64}, {n}, /*output=*/true);
  detail::require_array(op, "b", b, {DType::kFloat64}, {n});
  detail::require_array(op, "c", c, {DType::kFloat64}, {n});
  auto* out = static_cast<double*>(a.data());
  const auto* x = static_cast<const double*>(b.data());
  const auto* y = static_cast<const double*>(c.data());
  parallel_for(0, n, 1 << 16, [&](std::int64_t lo, std::int64_t hi) { triad_range(out, x, y, scalar, lo, hi); });
}

}  // namespace mlforge
