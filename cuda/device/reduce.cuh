// Device-side block reduction in float64. Device-only; includes nothing outside cuda/device.
#pragma once

#include <cstdint>

namespace mlforge::device {

inline constexpr int kReduceBlock = 256;

// A float64 value with its running compensation (the exact rounding errors so far).
struct Compensated {
  double sum;
  double compensation;
};

// TwoSum-combine of two compensated values: no rounding error is lost in the combination.
__device__ inline Compensated combine(Compensated a, Compensated b) {
  const double t = a.sum + b.sum;
  const double b_part = t - a.sum;
  const double error = (a.sum - (t - b_part)) + (b.sum - b_part);
  return {t, a.compensation + b.compensation + (isfinite(t) ? error : 0.0)};
}

// Combines `value` over the block in a fixed tree order; thread 0 gets the total.
__device__ inline Compensated block_sum(Compensated value, Compensated* scratch) {
  scratch[threadIdx.x] = value;
  __syncthreads();
  for (int width = kReduceBlock / 2; width > 0; width /= 2) {
    if (threadIdx.x < width) scratch[threadIdx.x] = combine(scratch[threadIdx.x], scratch[threadIdx.x + width]);
    __syncthreads();
  }
  return scratch[0];
}

// Pass 1: each block sums a fixed, grid-strided slice of x into partials[blockIdx.x], carrying
// TwoSum compensations through every addition and every tree level (like the CPU twin), so
// cancellations survive; the grid size is fixed by n alone, so the result is deterministic.
template <class T>
__global__ void sum_partials(const T* x, std::int64_t n, Compensated* partials) {
  __shared__ Compensated scratch[kReduceBlock];
  Compensated acc{0.0, 0.0};
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * kReduceBlock;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * kReduceBlock + threadIdx.x; i < n; i += stride) {
    acc = combine(acc, Compensated{static_cast<double>(x[i]), 0.0});
  }
  const Compensated total = block_sum(acc, scratch);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

// Pass 2: one block folds the per-block partials; a non-finite sum keeps IEEE semantics.
__global__ inline void sum_final(const Compensated* partials, int count, double* out) {
  __shared__ Compensated scratch[kReduceBlock];
  Compensated acc{0.0, 0.0};
  for (int i = threadIdx.x; i < count; i += kReduceBlock) acc = combine(acc, partials[i]);
  const Compensated total = block_sum(acc, scratch);
  if (threadIdx.x == 0) *out = isfinite(total.sum) ? total.sum + total.compensation : total.sum;
}

}  // namespace mlforge::device
