// MinHash and SimHash signatures of ragged documents of token hashes.
#include <algorithm>
#include <limits>
#include <vector>

#include "backend/cuda_entry.h"
#include "core/simd.h"
#include "kernels/checks.h"
#include "mlforge/kernels.h"
#include "mlforge/parallel.h"
#include "mlforge/random.h"

namespace mlforge {
namespace {

constexpr std::uint64_t kMinhashStream = 0x4d48;  // "MH": keeps MinHash draws apart from other uses

__extension__ typedef unsigned __int128 uint128_t;

// (a * x) mod (2^61 - 1) for a, x < 2^61: fold the 122-bit product at bit 61 (2^61 = 1 mod p).
inline std::uint64_t mulmod_mersenne61(std::uint64_t a, std::uint64_t x) {
  const uint128_t product = static_cast<uint128_t>(a) * x;
  std::uint64_t folded = (static_cast<std::uint64_t>(product) & kMinhashPrime) + static_cast<std::uint64_t>(product >> 61);
  folded = (folded & kMinhashPrime) + (folded >> 61);
  return folded >= kMinhashPrime ? folded - kMinhashPrime : folded;
}

inline std::uint64_t mod_mersenne61(std::uint64_t x) {
  const std::uint64_t folded = (x & kMinhashPrime) + (x >> 61);
  return folded >= kMinhashPrime ? folded - kMinhashPrime : folded;
}

// Validates the ragged layout (offsets of CUDA documents are copied to the host for it); returns
// the number of documents.
std::int64_t check_ragged(const char* op, const ArrayView& tokens, const ArrayView& offsets, Stream stream) {
  const DeviceType where = tokens.device().type;
  MLFORGE_CHECK(tokens.ndim() == 1, InvalidArgument, "[", op, "] token_hashes: expected a vector, got ", tokens.describe());
  detail::require_array(op, "token_hashes", tokens, {DType::kUInt64}, {tokens.shape(0)}, false, where);
  MLFORGE_CHECK(offsets.ndim() == 1 && offsets.shape(0) >= 1, InvalidArgument, "[", op,
                "] offsets: expected [n_documents + 1], got ", offsets.describe());
  detail::require_array(op, "offsets", offsets, {DType::kInt64}, {offsets.shape(0)}, false, where);
  std::vector<std::int64_t> host_offsets;
  const auto* o = static_cast<const std::int64_t*>(offsets.data());
  if (where == DeviceType::kCUDA) {
    host_offsets.resize(static_cast<std::size_t>(offsets.shape(0)));
    detail::cuda::copy_to_host(host_offsets.data(), offsets, stream);
    o = host_offsets.data();
  }
  const std::int64_t docs = offsets.shape(0) - 1;
  MLFORGE_CHECK(o[0] == 0, InvalidArgument, "[", op, "] offsets[0] must be 0, got ", o[0]);
  MLFORGE_CHECK(o[docs] == tokens.shape(0), InvalidArgument, "[", op, "] offsets[-1] must equal the number of tokens ",
                tokens.shape(0), ", got ", o[docs]);
  for (std::int64_t j = 0; j < docs; ++j) {
    MLFORGE_CHECK(o[j] <= o[j + 1], InvalidArgument, "[", op, "] offsets must not decrease: offsets[", j, "] = ", o[j],
                  " > offsets[", j + 1, "] = ", o[j + 1]);
  }
  return docs;
}

// Adds +1 / -1 per bit of one token hash: a branch-free loop over the 64 bits that vectorises
// (variable shifts) on AVX2 and AVX-512.
MLFORGE_TARGET_CLONES void simhash_document(const std::uint64_t* tokens, std::int64_t count, std::uint64_t* out) {
  std::int64_t votes[64] = {};
  for (std::int64_t t = 0; t < count; ++t) {
    const std::uint64_t x = tokens[t];
    for (int bit = 0; bit < 64; ++bit) votes[bit] += static_cast<std::int64_t>((x >> bit) & 1u) * 2 - 1;
  }
  std::uint64_t fingerprint = 0;
  for (int bit = 0; bit < 64; ++bit) fingerprint |= static_cast<std::uint64_t>(votes[bit] > 0) << bit;
  *out = fingerprint;
}

}  // namespace

void minhash_permutations(std::uint64_t seed, const ArrayView& a, const ArrayView& b) {
  constexpr const char* op = "kernels.minhash_permutations";
  const std::int64_t perms = a.ndim() == 1 ? a.shape(0) : -1;
  detail::require_array(op, "a", a, {DType::kUInt64}, {perms}, true);
  detail::require_array(op, "b", b, {DType::kUInt64}, {perms}, true);
  const CounterRng rng(seed, kMinhashStream);
  auto* pa = static_cast<std::uint64_t*>(a.data());
  auto* pb = static_cast<std::uint64_t*>(b.data());
  for (std::int64_t i = 0; i < perms; ++i) {
    pa[i] = 1 + rng.bits(2 * static_cast<std::uint64_t>(i)) % (kMinhashPrime - 1);
    pb[i] = rng.bits(2 * static_cast<std::uint64_t>(i) + 1) % kMinhashPrime;
  }
}

void minhash(const ArrayView& token_hashes, const ArrayView& offsets, std::uint64_t seed, const ArrayView& signatures,
             Stream stream) {
  constexpr const char* op = "kernels.minhash";
  const std::int64_t docs = check_ragged(op, token_hashes, offsets, stream);
  MLFORGE_CHECK(signatures.ndim() == 2 && signatures.shape(1) >= 1, InvalidArgument, "[", op,
                "] signatures: expected [n_documents, num_perm], got ", signatures.describe());
  const std::int64_t perms = signatures.shape(1);
  detail::require_array(op, "signatures", signatures, {DType::kUInt64}, {docs, perms}, true, token_hashes.device().type);
  std::vector<std::uint64_t> a(static_cast<std::size_t>(perms)), b(a.size());
  minhash_permutations(seed, ArrayView(a.data(), DType::kUInt64, {perms}), ArrayView(b.data(), DType::kUInt64, {perms}));
  if (token_hashes.device().is_cuda()) return detail::cuda::minhash(token_hashes, offsets, a, b, signatures, stream);
  const auto* tokens = static_cast<const std::uint64_t*>(token_hashes.data());
  const auto* o = static_cast<const std::int64_t*>(offsets.data());
  auto* out = static_cast<std::uint64_t*>(signatures.data());
  parallel_for(0, docs, 16, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t j = lo; j < hi; ++j) {
      std::uint64_t* signature = out + j * perms;
      std::fill(signature, signature + perms, std::numeric_limits<std::uint64_t>::max());
      for (std::int64_t t = o[j]; t < o[j + 1]; ++t) {
        const std::uint64_t x = mod_mersenne61(tokens[t]);
        for (std::int64_t i = 0; i < perms; ++i) {
          std::uint64_t h = mulmod_mersenne61(a[static_cast<std::size_t>(i)], x) + b[static_cast<std::size_t>(i)];
          h = h >= kMinhashPrime ? h - kMinhashPrime : h;
          signature[i] = std::min(signature[i], h);
        }
      }
    }
  });
}

void simhash(const ArrayView& token_hashes, const ArrayView& offsets, const ArrayView& fingerprints, Stream stream) {
  constexpr const char* op = "kernels.simhash";
  const std::int64_t docs = check_ragged(op, token_hashes, offsets, stream);
  detail::require_array(op, "fingerprints", fingerprints, {DType::kUInt64}, {docs}, true, token_hashes.device().type);
  if (token_hashes.device().is_cuda()) return detail::cuda::simhash(token_hashes, offsets, fingerprints, stream);
  const auto* tokens = static_cast<const std::uint64_t*>(token_hashes.data());
  const auto* o = static_cast<const std::int64_t*>(offsets.data());
  auto* out = static_cast<std::uint64_t*>(fingerprints.data());
  parallel_for(0, docs, 64, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t j = lo; j < hi; ++j) simhash_document(tokens + o[j], o[j + 1] - o[j], out + j);
  });
}

}  // namespace mlforge
