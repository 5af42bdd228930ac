// Squared norms in float64 (see sum_of_squares.h).
#include "kernels/sum_of_squares.h"

#include "core/simd.h"

namespace mlforge::detail {

MLFORGE_TARGET_CLONES double sum_of_squares(const float* x, std::int64_t n) {
  double lanes[16] = {};
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int l = 0; l < 16; ++l) lanes[l] += static_cast<double>(x[i + l]) * static_cast<double>(x[i + l]);
  }
  double total = 0.0;
  for (double lane : lanes) total += lane;
  for (; i < n; ++i) total += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return total;
}

}  // namespace mlforge::detail
