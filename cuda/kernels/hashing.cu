// CUDA twins of MinHash (one thread per document and permutation) and SimHash (one thread per
// document). The arithmetic is exact integer arithmetic, so signatures equal the CPU's.
#include <cstdint>
#include <vector>

#include "backend/cuda_entry.h"
#include "runtime/cuda_check.h"

namespace mlforge::detail::cuda {
namespace {

constexpr std::uint64_t kPrime = (std::uint64_t{1} << 61) - 1;

__device__ inline std::uint64_t fold61(std::uint64_t x) {
  const std::uint64_t folded = (x & kPrime) + (x >> 61);
  return folded >= kPrime ? folded - kPrime : folded;
}

__device__ inline std::uint64_t mulmod61(std::uint64_t a, std::uint64_t x) {
  const std::uint64_t lo = a * x, hi = __umul64hi(a, x);
  // product = hi * 2^64 + lo; 2^64 = 8 (mod p), so fold bits >= 61 twice.
  std::uint64_t folded = (lo & kPrime) + (lo >> 61) + (hi << 3);
  folded = (folded & kPrime) + (folded >> 61);
  return folded >= kPrime ? folded - kPrime : folded;
}

__global__ void minhash_kernel(const std::uint64_t* tokens, const std::int64_t* offsets, const std::uint64_t* a,
                               const std::uint64_t* b, std::int64_t docs, std::int64_t perms, std::uint64_t* out) {
  const std::int64_t index = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (index >= docs * perms) return;
  const std::int64_t doc = index / perms, perm = index % perms;
  std::uint64_t best = ~std::uint64_t{0};
  for (std::int64_t t = offsets[doc]; t < offsets[doc + 1]; ++t) {
    std::uint64_t h = mulmod61(a[perm], fold61(tokens[t])) + b[perm];
    h = h >= kPrime ? h - kPrime : h;
    best = h < best ? h : best;
  }
  out[index] = best;
}

__global__ void simhash_kernel(const std::uint64_t* tokens, const std::int64_t* offsets, std::int64_t docs,
                               std::uint64_t* out) {
  const std::int64_t doc = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (doc >= docs) return;
  int votes[64] = {};
  for (std::int64_t t = offsets[doc]; t < offsets[doc + 1]; ++t) {
    for (int bit = 0; bit < 64; ++bit) votes[bit] += ((tokens[t] >> bit) & 1u) ? 1 : -1;
  }
  std::uint64_t fingerprint = 0;
  for (int bit = 0; bit < 64; ++bit) fingerprint |= static_cast<std::uint64_t>(votes[bit] > 0) << bit;
  out[doc] = fingerprint;
}

}  // namespace

void copy_to_host(void* destination, const ArrayView& source, Stream stream) {
  const DeviceGuard guard(device_index(source));
  // On the caller's stream: a producer on a non-blocking stream has finished writing before this runs.
  MLFORGE_CUDA_CHECK(cudaMemcpyAsync(destination, source.data(), source.nbytes(), cudaMemcpyDeviceToHost, to_cuda(stream)));
  MLFORGE_CUDA_CHECK(cudaStreamSynchronize(to_cuda(stream)));
}

void minhash(const ArrayView& token_hashes, const ArrayView& offsets, const std::vector<std::uint64_t>& a,
             const std::vector<std::uint64_t>& b, const ArrayView& signatures, Stream stream) {
  const DeviceGuard guard(device_index(token_hashes));
  const cudaStream_t s = to_cuda(stream);
  const std::int64_t docs = offsets.shape(0) - 1, perms = static_cast<std::int64_t>(a.size());
  if (docs == 0) return;
  DeviceBuffer da(sizeof(std::uint64_t) * a.size(), s), db(sizeof(std::uint64_t) * b.size(), s);
  MLFORGE_CUDA_CHECK(cudaMemcpyAsync(da.as<std::uint64_t>(), a.data(), sizeof(std::uint64_t) * a.size(), cudaMemcpyHostToDevice, s));
  MLFORGE_CUDA_CHECK(cudaMemcpyAsync(db.as<std::uint64_t>(), b.data(), sizeof(std::uint64_t) * b.size(), cudaMemcpyHostToDevice, s));
  minhash_kernel<<<grid_for(docs * perms, 256, 1 << 30), 256, 0, s>>>(
      static_cast<const std::uint64_t*>(token_hashes.data()), static_cast<const std::int64_t*>(offsets.data()),
      da.as<std::uint64_t>(), db.as<std::uint64_t>(), docs, perms, static_cast<std::uint64_t*>(signatures.data()));
  MLFORGE_CUDA_CHECK(cudaGetLastError());
  MLFORGE_CUDA_CHECK(cudaStreamSynchronize(s));  // a and b are host vectors owned by the caller
}

void simhash(const ArrayView& token_hashes, const ArrayView& offsets, const ArrayView& fingerprints, Stream stream) {
  const DeviceGuard guard(device_index(token_hashes));
  const std::int64_t docs = offsets.shape(0) - 1;
  if (docs == 0) return;
  simhash_kernel<<<grid_for(docs, 128, 1 << 30), 128, 0, to_cuda(stream)>>>(
      static_cast<const std::uint64_t*>(token_hashes.data()), static_cast<const std::int64_t*>(offsets.data()), docs,
      static_cast<std::uint64_t*>(fingerprints.data()));
  MLFORGE_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mlforge::detail::cuda
