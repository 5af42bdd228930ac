// CUDA twins of the sum-tree update and search. Inputs are validated on the device before the
// tree is touched, so a bad batch leaves it unchanged, as on the CPU.
#include <cmath>
#include <string>

#include "backend/cuda_entry.h"
#include "runtime/cuda_check.h"

namespace mlforge::detail::cuda {
namespace {

__global__ void check_updates(const std::int64_t* indices, const double* priorities, std::int64_t n,
                              std::int64_t capacity, long long* bad) {
  const std::int64_t j = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (j >= n) return;
  if (indices[j] < 0 || indices[j] >= capacity || !isfinite(priorities[j]) || priorities[j] < 0.0) {
    atomicMin(bad, static_cast<long long>(j));
  }
}

// One thread, in order: the last of duplicate indices wins, exactly as on the CPU.
__global__ void set_leaves(double* tree, const std::int64_t* indices, const double* priorities, std::int64_t n,
                           std::int64_t capacity) {
  for (std::int64_t j = 0; j < n; ++j) tree[capacity + indices[j]] = priorities[j];
}

// Recompute the ancestors at `shift` levels above the leaves; duplicates write the same value.
__global__ void recompute_level(double* tree, const std::int64_t* indices, std::int64_t n, std::int64_t capacity,
                                int shift) {
  const std::int64_t j = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (j >= n) return;
  const std::int64_t node = (capacity + indices[j]) >> shift;
  tree[node] = tree[2 * node] + tree[2 * node + 1];
}

__global__ void check_values(const double* tree, const double* values, std::int64_t n, long long* bad) {
  const std::int64_t j = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (j < n && !(values[j] >= 0.0 && values[j] < tree[1])) atomicMin(bad, static_cast<long long>(j));
}

__global__ void search(const double* tree, const double* values, std::int64_t n, std::int64_t capacity,
                       std::int64_t* out) {
  const std::int64_t j = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (j >= n) return;
  double value = values[j];
  std::int64_t node = 1;
  while (node < capacity) {
    const std::int64_t left = 2 * node;
    if ((value < tree[left] && tree[left] > 0.0) || tree[left + 1] <= 0.0) {
      node = left;
    } else {
      value -= tree[left];
      node = left + 1;
    }
  }
  out[j] = node - capacity;
}

}  // namespace

void sumtree_update(const ArrayView& tree, const ArrayView& indices, const ArrayView& priorities, Stream stream) {
  const DeviceGuard guard(device_index(tree));
  const cudaStream_t s = to_cuda(stream);
  const std::int64_t n = indices.shape(0), capacity = tree.shape(0) / 2;
  if (n == 0) return;
  const auto* idx = static_cast<const std::int64_t*>(indices.data());
  const auto* prio = static_cast<const double*>(priorities.data());
  const ErrorSlot bad(s);
  check_updates<<<grid_for(n, 256, 1 << 30), 256, 0, s>>>(idx, prio, n, capacity, bad.device());
  MLFORGE_CUDA_CHECK(cudaGetLastError());
  const long long j = bad.read();
  if (j != ErrorSlot::kNone) {
    throw InvalidArgument("[kernels.sumtree_update] indices[" + std::to_string(j) + "] / priorities[" +
                          std::to_string(j) + "]: the index must be in [0, " + std::to_string(capacity) +
                          ") and the priority finite and >= 0");
  }
  auto* t = static_cast<double*>(tree.data());
  set_leaves<<<1, 1, 0, s>>>(t, idx, prio, n, capacity);
  for (int shift = 1; (capacity >> (shift - 1)) > 1; ++shift) {
    recompute_level<<<grid_for(n, 256, 1 << 30), 256, 0, s>>>(t, idx, n, capacity, shift);
  }
  MLFORGE_CUDA_CHECK(cudaGetLastError());
}

void sumtree_search(const ArrayView& tree, const ArrayView& values, const ArrayView& out_indices, Stream stream) {
  const DeviceGuard guard(device_index(tree));
  const cudaStream_t s = to_cuda(stream);
  const std::int64_t n = values.shape(0), capacity = tree.shape(0) / 2;
  if (n == 0) return;
  const auto* t = static_cast<const double*>(tree.data());
  const auto* v = static_cast<const double*>(values.data());
  const ErrorSlot bad(s);
  check_values<<<grid_for(n, 256, 1 << 30), 256, 0, s>>>(t, v, n, bad.device());
  MLFORGE_CUDA_CHECK(cudaGetLastError());
  const long long j = bad.read();
  if (j != ErrorSlot::kNone) {
    throw InvalidArgument("[kernels.sumtree_search] values[" + std::to_string(j) +
                          "] is outside [0, total) or the tree is empty");
  }
  search<<<grid_for(n, 256, 1 << 30), 256, 0, s>>>(t, v, n, capacity, static_cast<std::int64_t*>(out_indices.data()));
  MLFORGE_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mlforge::detail::cuda
