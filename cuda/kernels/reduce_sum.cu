// Host launcher for the CUDA reduce_sum; the CPU twin in cpp/src/kernels is its reference.
#include <algorithm>

#include "backend/cuda_entry.h"
#include "device/reduce.cuh"
#include "runtime/cuda_check.h"

namespace mlforge::detail::cuda {
namespace {

constexpr int kMaxBlocks = 1024;

template <class T>
double launch_sum(const T* x, std::int64_t n, cudaStream_t stream) {
  const std::int64_t wanted = (n + device::kReduceBlock - 1) / device::kReduceBlock;
  const int blocks = static_cast<int>(std::clamp<std::int64_t>(wanted, 1, kMaxBlocks));
  DeviceBuffer partials(sizeof(device::Compensated) * blocks + sizeof(double), stream);
  auto* pairs = partials.as<device::Compensated>();
  auto* result = reinterpret_cast<double*>(pairs + blocks);
  device::sum_partials<T><<<blocks, device::kReduceBlock, 0, stream>>>(x, n, pairs);
  MLFORGE_CUDA_CHECK(cudaGetLastError());
  device::sum_final<<<1, device::kReduceBlock, 0, stream>>>(pairs, blocks, result);
  MLFORGE_CUDA_CHECK(cudaGetLastError());
  double host = 0.0;
  MLFORGE_CUDA_CHECK(cudaMemcpyAsync(&host, result, sizeof(double), cudaMemcpyDeviceToHost, stream));
  MLFORGE_CUDA_CHECK(cudaStreamSynchronize(stream));
  return host;
}

}  // namespace

double reduce_sum(const ArrayView& x, Stream stream) {
  MLFORGE_CHECK(device_count() > 0, Unavailable, "[kernels.reduce_sum] x is a CUDA array (", x.describe(),
                ") but no CUDA device is usable");
  if (x.numel() == 0) return 0.0;
  const DeviceGuard guard(device_index(x));
  auto cuda_stream = static_cast<cudaStream_t>(stream.handle);
  if (x.dtype() == DType::kFloat32) return launch_sum(static_cast<const float*>(x.data()), x.numel(), cuda_stream);
  return launch_sum(static_cast<const double*>(x.data()), x.numel(), cuda_stream);
}

}  // namespace mlforge::detail::cuda
