// MinHash signatures, scheme minhash-v2 (see mlforge/dedup/minhash.h).
//
// The hot loop runs one block of 16 permutations at a time over all of a document's shingles, so
// the 16 running minima stay in vector registers; the loop is compiled for AVX-512, AVX2 and
// baseline x86-64 and picked at load time.
#include <algorithm>
#include <string>

#include "core/simd.h"
#include "dedup/shingles.h"
#include "mlforge/dedup/minhash.h"
#include "mlforge/parallel.h"
#include "mlforge/random.h"

namespace mlforge::dedup {
namespace {

constexpr int kBlock = 16;
constexpr std::int64_t kDocGrain = 32;
constexpr std::uint64_t kCoefficientStream = 0x4D4832;  // "MH2"

MLFORGE_TARGET_CLONES
void sign_document(const std::uint32_t* shingles, std::int64_t count, const std::uint32_t* a, const std::uint32_t* b,
                   std::int32_t padded_perms, std::uint32_t* out) {
  for (std::int32_t p = 0; p < padded_perms; p += kBlock) {
    std::uint32_t acc[kBlock];
    for (int k = 0; k < kBlock; ++k) acc[k] = 0xFFFFFFFFU;
    for (std::int64_t s = 0; s < count; ++s) {
      const std::uint32_t x = shingles[s];
      for (int k = 0; k < kBlock; ++k) acc[k] = std::min(acc[k], minhash_v2_mix(a[p + k] * x + b[p + k]));
    }
    for (int k = 0; k < kBlock; ++k) out[p + k] = acc[k];
  }
}

// The 32-bit shingle values of one document, in order (duplicates included).
void shingle_values(std::string_view doc, std::int64_t doc_index, const MinHashParams& params, bool replace_invalid,
                    bool* invalid, std::vector<std::uint64_t>& window, std::vector<std::uint32_t>& out) {
  out.clear();
  detail::dedup::for_each_shingle(doc, doc_index, params.tokenizer, params.ngram, replace_invalid, invalid, window,
                                  [&](std::uint64_t x) {
                                    out.push_back(static_cast<std::uint32_t>(x) ^ static_cast<std::uint32_t>(x >> 32));
                                  });
}

}  // namespace

std::string MinHashParams::scheme() const {
  return "minhash-v" + std::to_string(kMinHashScheme) + "/" + tokenizer.name() + "/n" + std::to_string(ngram) + "/p" +
         std::to_string(num_perm) + "/s" + std::to_string(seed);
}

void minhash_v2_coefficients(std::uint64_t seed, std::int32_t num_perm, std::uint32_t* a, std::uint32_t* b) {
  MLFORGE_CHECK(num_perm >= 1, InvalidArgument, "[dedup.minhash] num_perm must be >= 1, got ", num_perm);
  const CounterRng rng(seed, kCoefficientStream);
  for (std::int32_t i = 0; i < num_perm; ++i) {
    const std::uint64_t bits = rng.bits(static_cast<std::uint64_t>(i));
    a[i] = static_cast<std::uint32_t>(bits) | 1U;  // odd: multiplication is invertible mod 2^32
    b[i] = static_cast<std::uint32_t>(bits >> 32);
  }
}

std::vector<std::int64_t> minhash_signatures(const TextBatch& batch, const MinHashParams& params,
                                             std::uint32_t* signatures, ShingleSets* sets) {
  MLFORGE_CHECK(params.num_perm >= 1 && params.num_perm <= 65536, InvalidArgument,
                "[dedup.minhash] num_perm must be in [1, 65536], got ", params.num_perm);
  MLFORGE_CHECK(params.ngram >= 1 && params.ngram <= 1024, InvalidArgument,
                "[dedup.minhash] ngram must be in [1, 1024], got ", params.ngram);
  MLFORGE_CHECK(batch.count >= 0 && (batch.count == 0 || (batch.docs != nullptr && signatures != nullptr)),
                InvalidArgument, "[dedup.minhash] missing documents or output for ", batch.count, " documents");
  const std::int32_t padded = (params.num_perm + kBlock - 1) / kBlock * kBlock;
  std::vector<std::uint32_t> a(static_cast<std::size_t>(padded), 1), b(static_cast<std::size_t>(padded), 0);
  minhash_v2_coefficients(params.seed, params.num_perm, a.data(), b.data());
  const auto n = static_cast<std::size_t>(batch.count);
  std::vector<unsigned char> invalid(n, 0);
  // Shingle values are gathered per chunk, then stitched in chunk order (deterministic).
  const std::int64_t chunks = parallel_chunk_count(0, batch.count, kDocGrain);
  std::vector<std::vector<std::uint32_t>> chunk_values(static_cast<std::size_t>(sets ? chunks : 0));
  std::vector<std::int64_t> counts(sets ? n : 0);
  const std::int64_t chunk_size = chunks > 0 ? (batch.count + chunks - 1) / chunks : 0;
  parallel_for(0, batch.count, kDocGrain, [&](std::int64_t lo, std::int64_t hi) {
    std::vector<std::uint64_t> window;
    std::vector<std::uint32_t> values;
    std::vector<std::uint32_t> row(static_cast<std::size_t>(padded));
    std::vector<std::uint32_t>* out = sets ? &chunk_values[static_cast<std::size_t>(lo / chunk_size)] : nullptr;
    for (std::int64_t j = lo; j < hi; ++j) {
      bool had_invalid = false;
      shingle_values(batch.docs[j], j, params, batch.replace_invalid, &had_invalid, window, values);
      invalid[static_cast<std::size_t>(j)] = had_invalid;
      sign_document(values.data(), static_cast<std::int64_t>(values.size()), a.data(), b.data(), padded, row.data());
      std::copy(row.begin(), row.begin() + params.num_perm, signatures + j * params.num_perm);
      if (out) {
        out->insert(out->end(), values.begin(), values.end());
        counts[static_cast<std::size_t>(j)] = static_cast<std::int64_t>(values.size());
      }
    }
  });
  if (sets) {
    sets->values.clear();
    for (const auto& values : chunk_values) sets->values.insert(sets->values.end(), values.begin(), values.end());
    sets->offsets.assign(n + 1, 0);
    for (std::size_t j = 0; j < n; ++j) sets->offsets[j + 1] = sets->offsets[j] + counts[j];
  }
  std::vector<std::int64_t> indices;
  for (std::size_t j = 0; j < n; ++j) {
    if (invalid[j]) indices.push_back(static_cast<std::int64_t>(j));
  }
  return indices;
}

}  // namespace mlforge::dedup
