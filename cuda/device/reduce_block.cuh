// Block-wide max and sum for one-block-per-row kernels. Device-only.
#pragma once

namespace mlforge::device {

// All threads get the block maximum; `scratch` holds blockDim.x doubles (blockDim.x a power of
// two). NaN is not propagated (fmax drops it): callers track NaN themselves.
__device__ inline double block_max(double value, double* scratch) {
  scratch[threadIdx.x] = value;
  __syncthreads();
  for (unsigned width = blockDim.x / 2; width > 0; width /= 2) {
    if (threadIdx.x < width) scratch[threadIdx.x] = fmax(scratch[threadIdx.x], scratch[threadIdx.x + width]);
    __syncthreads();
  }
  const double result = scratch[0];
  __syncthreads();
  return result;
}

// All threads get the block sum, accumulated in a fixed tree order (deterministic).
__device__ inline double block_sum_double(double value, double* scratch) {
  scratch[threadIdx.x] = value;
  __syncthreads();
  for (unsigned width = blockDim.x / 2; width > 0; width /= 2) {
    if (threadIdx.x < width) scratch[threadIdx.x] += scratch[threadIdx.x + width];
    __syncthreads();
  }
  const double result = scratch[0];
  __syncthreads();
  return result;
}

__device__ inline float bf16_to_float(unsigned short value) { return __uint_as_float(static_cast<unsigned>(value) << 16); }

// Round to nearest even, NaN stays NaN: the CPU's conversion, bit for bit.
__device__ inline unsigned short float_to_bf16(float value) {
  unsigned bits = __float_as_uint(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<unsigned short>((bits >> 16) | 0x40u);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<unsigned short>(bits >> 16);
}

}  // namespace mlforge::device
