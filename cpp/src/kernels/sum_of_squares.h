// Squared L2 norm of a float32 range accumulated in float64: shared by the aggregation norms and
// the DP clipping. Internal.
#pragma once

#include <cstdint>

namespace mlforge::detail {

/// sum x[i]^2 in float64 over 16 lanes (a finite float32 squared in float64 cannot overflow, so a
/// non-finite result means a NaN or infinity in x). Dispatched to the widest ISA at load time.
double sum_of_squares(const float* x, std::int64_t n);

}  // namespace mlforge::detail
