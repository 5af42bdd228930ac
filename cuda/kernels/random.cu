// CUDA twins of fill_uniform / fill_normal: element i uses Philox block (offset + i) / 4, lane
// (offset + i) % 4, exactly like the CPU generator.
#include <cmath>
#include <cstdint>

#include "backend/cuda_entry.h"
#include "device/philox.cuh"
#include "random/box_muller.h"
#include "runtime/cuda_check.h"

namespace mlforge::detail::cuda {
namespace {

constexpr int kBlock = 256;

template <class T>
__global__ void uniform_kernel(T* out, std::int64_t n, std::uint64_t seed, std::uint64_t stream_id,
                               std::uint64_t offset, double low, double span, double below_high) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::uint64_t index = offset + static_cast<std::uint64_t>(i);
    std::uint64_t words[4] = {index / 4, 0, 0, 0};
    device::philox4x64_10(words, seed, stream_id);
    out[i] = static_cast<T>(fmin(low + span * device::bits_to_unit(words[index % 4]), below_high));
  }
}

template <class T>
__global__ void normal_kernel(T* out, std::int64_t n, std::uint64_t seed, std::uint64_t stream_id,
                              std::uint64_t offset, double mean, double std) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::uint64_t index = offset + static_cast<std::uint64_t>(i);
    std::uint64_t words[4] = {index / 4, 0, 0, 0};
    device::philox4x64_10(words, seed, stream_id);
    double normals[4];
    detail::normals_from_block(words, normals);  // the CPU's own arithmetic: bit-identical results
    out[i] = static_cast<T>(mean + std * normals[index % 4]);
  }
}

}  // namespace

void fill_uniform(const ArrayView& out, std::uint64_t seed, std::uint64_t stream_id, std::uint64_t offset, double low,
                  double high, Stream stream) {
  const DeviceGuard guard(device_index(out));
  const std::int64_t n = out.numel();
  if (n == 0) return;
  const cudaStream_t s = to_cuda(stream);
  if (out.dtype() == DType::kFloat32) {
    const double below = static_cast<double>(nextafterf(static_cast<float>(high), static_cast<float>(low)));
    uniform_kernel<float><<<grid_for(n, kBlock), kBlock, 0, s>>>(static_cast<float*>(out.data()), n, seed, stream_id,
                                                                  offset, low, high - low, below);
  } else {
    uniform_kernel<double><<<grid_for(n, kBlock), kBlock, 0, s>>>(static_cast<double*>(out.data()), n, seed, stream_id,
                                                                   offset, low, high - low, nextafter(high, low));
  }
  MLFORGE_CUDA_CHECK(cudaGetLastError());
}

void fill_normal(const ArrayView& out, std::uint64_t seed, std::uint64_t stream_id, std::uint64_t offset, double mean,
                 double std, Stream stream) {
  const DeviceGuard guard(device_index(out));
  const std::int64_t n = out.numel();
  if (n == 0) return;
  const cudaStream_t s = to_cuda(stream);
  if (out.dtype() == DType::kFloat32) {
    normal_kernel<float><<<grid_for(n, kBlock), kBlock, 0, s>>>(static_cast<float*>(out.data()), n, seed, stream_id,
                                                                 offset, mean, std);
  } else {
    normal_kernel<double><<<grid_for(n, kBlock), kBlock, 0, s>>>(static_cast<double*>(out.data()), n, seed, stream_id,
                                                                  offset, mean, std);
  }
  MLFORGE_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mlforge::detail::cuda
