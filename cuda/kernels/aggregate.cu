// CUDA twin of weighted_sum: one thread per coordinate, rows in a fixed order, float64 sums.
#include <cmath>
#include <string>
#include <vector>

#include "backend/cuda_entry.h"
#include "runtime/cuda_check.h"

namespace mlforge::detail::cuda {
namespace {

__global__ void weighted_sum_kernel(const float* const* rows, const double* weights, std::int64_t k,
                                    std::int64_t length, float* out) {
  for (std::int64_t d = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; d < length;
       d += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    double acc = 0.0;
    for (std::int64_t r = 0; r < k; ++r) acc += weights[r] * static_cast<double>(rows[r][d]);
    out[d] = static_cast<float>(acc);
  }
}

}  // namespace

void weighted_sum(const std::vector<ArrayView>& rows, const ArrayView& weights, const ArrayView& out, Stream stream) {
  const DeviceGuard guard(device_index(out));
  const cudaStream_t s = to_cuda(stream);
  const auto k = static_cast<std::int64_t>(rows.size());
  const std::int64_t length = out.shape(0);
  // The K weights are few: validate them on the host like the CPU path does.
  std::vector<double> host_weights(static_cast<std::size_t>(k));
  MLFORGE_CUDA_CHECK(cudaMemcpyAsync(host_weights.data(), weights.data(), sizeof(double) * k, cudaMemcpyDeviceToHost, s));
  MLFORGE_CUDA_CHECK(cudaStreamSynchronize(s));
  for (std::int64_t r = 0; r < k; ++r) {
    MLFORGE_CHECK(std::isfinite(host_weights[static_cast<std::size_t>(r)]), InvalidArgument,
                  "[kernels.weighted_sum] weights[", r, "] must be finite, got ", host_weights[static_cast<std::size_t>(r)]);
  }
  if (length == 0) return;
  std::vector<const float*> pointers(static_cast<std::size_t>(k));
  for (std::int64_t r = 0; r < k; ++r) pointers[static_cast<std::size_t>(r)] = static_cast<const float*>(rows[static_cast<std::size_t>(r)].data());
  DeviceBuffer device_pointers(sizeof(const float*) * k, s);
  MLFORGE_CUDA_CHECK(cudaMemcpyAsync(device_pointers.as<const float*>(), pointers.data(), sizeof(const float*) * k,
                                     cudaMemcpyHostToDevice, s));
  weighted_sum_kernel<<<grid_for(length, 256), 256, 0, s>>>(device_pointers.as<const float*>(),
                                                             static_cast<const double*>(weights.data()), k, length,
                                                             static_cast<float*>(out.data()));
  MLFORGE_CUDA_CHECK(cudaGetLastError());
  // `pointers` is pageable host memory: the copy above has completed before cudaMemcpyAsync returned.
}

}  // namespace mlforge::detail::cuda
