// Device-side block reduction in float64. Device-only; includes nothing outside cuda/device.
#pragma once

#include <cstdint>

namespace mlforge::device {

inline constexpr int kReduceBlock = 256;

// Sums `value` over the block; thread 0 gets the total. `scratch` holds kReduceBlock doubles.
__device__ inline double block_sum(double value, double* scratch) {
  scratch[threadIdx.x] = value;
  __syncthreads();
  for (int width = kReduceBlock / 2; width > 0; width /= 2) {
    if (threadIdx.x < width) scratch[threadIdx.x] += scratch[threadIdx.x + width];
    __syncthreads();
  }
  return scratch[0];
}

// Pass 1: each block sums a fixed, grid-strided slice of x into partials[blockIdx.x]. Each thread
// keeps a TwoSum compensation (like the CPU twin), so cancellations survive; the grid size is
// fixed by n alone, so the summation order (and the result) is deterministic.
template <class T>
__global__ void sum_partials(const T* x, std::int64_t n, double* partials) {
  __shared__ double scratch[kReduceBlock];
  double sum = 0.0;
  double compensation = 0.0;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * kReduceBlock;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * kReduceBlock + threadIdx.x; i < n; i += stride) {
    const double value = static_cast<double>(x[i]);
    const double t = sum + value;
    const double value_part = t - sum;
    compensation += (sum - (t - value_part)) + (value - value_part);
    sum = t;
  }
  // A thread that met inf/NaN has a meaningless compensation (inf - inf); drop it as the CPU does.
  const double total = block_sum(isfinite(sum) ? sum + compensation : sum, scratch);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

// Pass 2: one block folds the per-block partials.
__global__ inline void sum_final(const double* partials, int count, double* out) {
  __shared__ double scratch[kReduceBlock];
  double acc = 0.0;
  for (int i = threadIdx.x; i < count; i += kReduceBlock) acc += partials[i];
  const double total = block_sum(acc, scratch);
  if (threadIdx.x == 0) *out = total;
}

}  // namespace mlforge::device
