// CUDA twins of the robust aggregation kernels: coordinate-wise median and trimmed mean (by rank
// counting: O(K^2) per coordinate, no extra memory, ties broken by row index so the selected set
// is exactly the sorted one), centred pairwise distances and norms/clipping.
#include <math_constants.h>
#include <cmath>
#include <cstdint>
#include <vector>

#include "backend/cuda_entry.h"
#include "device/reduce_block.cuh"
#include "runtime/cuda_check.h"

namespace mlforge::detail::cuda {
namespace {

constexpr int kBlock = 256;

// Rank of rows[i][d] in the stable ascending order of the K values of coordinate d.
__device__ inline std::int64_t stable_rank(const float* const* rows, std::int64_t k, std::int64_t d, std::int64_t i) {
  const float value = rows[i][d];
  std::int64_t rank = 0;
  for (std::int64_t j = 0; j < k; ++j) {
    const float other = rows[j][d];
    rank += (other < value) || (other == value && j < i);
  }
  return rank;
}

// Mean of the values whose stable rank lies in [lo, hi); NaN if the coordinate has a NaN.
__global__ void ranked_mean(const float* const* rows, std::int64_t k, std::int64_t length, std::int64_t lo,
                            std::int64_t hi, float* out) {
  for (std::int64_t d = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; d < length;
       d += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    bool nan = false;
    for (std::int64_t i = 0; i < k; ++i) nan = nan || isnan(rows[i][d]);
    if (nan) {
      out[d] = NAN;
      continue;
    }
    double total = 0.0;
    for (std::int64_t i = 0; i < k; ++i) {
      const std::int64_t rank = stable_rank(rows, k, d, i);
      if (rank >= lo && rank < hi) total += rows[i][d];
    }
    out[d] = static_cast<float>(total / static_cast<double>(hi - lo));
  }
}

__global__ void column_means(const float* const* rows, std::int64_t k, std::int64_t length, double* means) {
  for (std::int64_t d = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; d < length;
       d += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    double total = 0.0;
    for (std::int64_t r = 0; r < k; ++r) total += rows[r][d];
    means[d] = total / static_cast<double>(k);
  }
}

// Blocks stride over the K * K pairs (only i <= j compute): the centred dot product of a pair,
// block-reduced in a fixed order.
__global__ void gram_pairs(const float* const* rows, const double* means, std::int64_t k, std::int64_t length,
                           double* gram) {
  __shared__ double scratch[kBlock];
  for (std::int64_t pair = blockIdx.x; pair < k * k; pair += gridDim.x) {
    const std::int64_t i = pair / k, j = pair % k;
    if (j < i) continue;  // uniform across the block
    double acc = 0.0;
    for (std::int64_t d = threadIdx.x; d < length; d += blockDim.x) {
      acc += (rows[i][d] - means[d]) * (rows[j][d] - means[d]);
    }
    acc = device::block_sum_double(acc, scratch);
    if (threadIdx.x == 0) gram[i * k + j] = gram[j * k + i] = acc;
  }
}

__global__ void distances_from_gram(const double* gram, std::int64_t k, double* out) {
  for (std::int64_t index = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; index < k * k;
       index += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t i = index / k, j = index % k;
    const double d = gram[i * k + i] + gram[j * k + j] - 2.0 * gram[i * k + j];
    // As on the CPU: a row holding NaN or infinity (a non-finite G_ii) has NaN distances.
    if (i == j) {
      out[index] = isfinite(gram[i * k + i]) ? 0.0 : CUDART_NAN;
    } else {
      out[index] = isfinite(d) ? fmax(0.0, d) : CUDART_NAN;
    }
  }
}

__global__ void norms_kernel(const float* const* rows, std::int64_t k, std::int64_t length, double* norms) {
  __shared__ double scratch[kBlock];
  for (std::int64_t r = blockIdx.x; r < k; r += gridDim.x) {
    const float* x = rows[r];
    double acc = 0.0;
    for (std::int64_t d = threadIdx.x; d < length; d += blockDim.x) acc += static_cast<double>(x[d]) * x[d];
    acc = device::block_sum_double(acc, scratch);
    if (threadIdx.x == 0) norms[r] = sqrt(acc);
  }
}

// Grid-strided over all K * length elements: the row of each element decides its scale.
__global__ void clip_kernel(float* const* rows, std::int64_t k, std::int64_t length, const double* norms,
                            double max_norm) {
  for (std::int64_t index = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; index < k * length;
       index += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t r = index / length;
    const double norm = norms[r];
    if (norm > max_norm) rows[r][index % length] *= static_cast<float>(max_norm / norm);
  }
}

// The K row pointers, uploaded once per call.
class RowPointers {
 public:
  RowPointers(const std::vector<ArrayView>& rows, cudaStream_t stream)
      : host_(rows.size()), device_(sizeof(float*) * rows.size(), stream) {
    for (std::size_t r = 0; r < rows.size(); ++r) host_[r] = static_cast<float*>(rows[r].data());
    MLFORGE_CUDA_CHECK(cudaMemcpyAsync(device_.as<float*>(), host_.data(), sizeof(float*) * host_.size(),
                                       cudaMemcpyHostToDevice, stream));
  }
  const float* const* get() const { return device_.as<const float*>(); }
  float* const* mutable_rows() const { return device_.as<float*>(); }

 private:
  std::vector<float*> host_;
  DeviceBuffer device_;
};

void ranked(const std::vector<ArrayView>& rows, std::int64_t lo, std::int64_t hi, const ArrayView& out, Stream stream) {
  const DeviceGuard guard(device_index(out));
  const cudaStream_t s = to_cuda(stream);
  const std::int64_t length = out.shape(0);
  if (length == 0) return;
  const RowPointers pointers(rows, s);
  ranked_mean<<<grid_for(length, kBlock), kBlock, 0, s>>>(pointers.get(), static_cast<std::int64_t>(rows.size()),
                                                           length, lo, hi, static_cast<float*>(out.data()));
  MLFORGE_CUDA_CHECK(cudaGetLastError());
  MLFORGE_CUDA_CHECK(cudaStreamSynchronize(s));  // the pointer table lives until here
}

}  // namespace

void coordinate_median(const std::vector<ArrayView>& rows, const ArrayView& out, Stream stream) {
  const auto k = static_cast<std::int64_t>(rows.size());
  // Odd K: the middle rank; even K: the mean of the two middle ranks (numpy.median).
  ranked(rows, (k - 1) / 2, k / 2 + 1, out, stream);
}

void coordinate_trimmed_mean(const std::vector<ArrayView>& rows, double beta, const ArrayView& out, Stream stream) {
  const auto k = static_cast<std::int64_t>(rows.size());
  const auto cut = static_cast<std::int64_t>(std::floor(beta * static_cast<double>(k)));
  ranked(rows, cut, k - cut, out, stream);
}

void pairwise_sq_distances(const std::vector<ArrayView>& rows, const ArrayView& out, Stream stream) {
  const DeviceGuard guard(device_index(out));
  const cudaStream_t s = to_cuda(stream);
  const auto k = static_cast<std::int64_t>(rows.size());
  const std::int64_t length = rows[0].shape(0);
  const RowPointers pointers(rows, s);
  DeviceBuffer means(sizeof(double) * (length > 0 ? length : 1), s), gram(sizeof(double) * k * k, s);
  column_means<<<grid_for(length, kBlock), kBlock, 0, s>>>(pointers.get(), k, length, means.as<double>());
  gram_pairs<<<grid_for(k * k, 1, 1 << 20), kBlock, 0, s>>>(pointers.get(), means.as<double>(), k, length,
                                                              gram.as<double>());
  distances_from_gram<<<grid_for(k * k, kBlock, 1 << 20), kBlock, 0, s>>>(gram.as<double>(), k,
                                                                           static_cast<double*>(out.data()));
  MLFORGE_CUDA_CHECK(cudaGetLastError());
  MLFORGE_CUDA_CHECK(cudaStreamSynchronize(s));
}

void row_norms(const std::vector<ArrayView>& rows, const ArrayView& out, Stream stream) {
  const DeviceGuard guard(device_index(out));
  const cudaStream_t s = to_cuda(stream);
  const RowPointers pointers(rows, s);
  const auto k = static_cast<std::int64_t>(rows.size());
  norms_kernel<<<grid_for(k, 1, 1 << 20), kBlock, 0, s>>>(pointers.get(), k, rows[0].shape(0),
                                                           static_cast<double*>(out.data()));
  MLFORGE_CUDA_CHECK(cudaGetLastError());
  MLFORGE_CUDA_CHECK(cudaStreamSynchronize(s));
}

void clip_rows(const std::vector<ArrayView>& rows, double max_norm, const ArrayView& norms, Stream stream) {
  row_norms(rows, norms, stream);
  const DeviceGuard guard(device_index(norms));
  const cudaStream_t s = to_cuda(stream);
  const RowPointers pointers(rows, s);
  const std::int64_t length = rows[0].shape(0);
  const auto k = static_cast<std::int64_t>(rows.size());
  clip_kernel<<<grid_for(k * length, kBlock, 1 << 20), kBlock, 0, s>>>(pointers.mutable_rows(), k, length,
                                                                       static_cast<const double*>(norms.data()), max_norm);
  MLFORGE_CUDA_CHECK(cudaGetLastError());
  MLFORGE_CUDA_CHECK(cudaStreamSynchronize(s));
}

}  // namespace mlforge::detail::cuda
