// MinHash signatures, LSH banding and the near-duplicate index.
//
// Signatures (scheme "minhash-v2"). Shingles are the n-grams of consecutive tokens (the shared
// tokenizer, text.h); a document with fewer than n tokens has one shingle of all its tokens, an
// empty document none. Each shingle's 64-bit hash x64 (an order-dependent hash of its token hashes)
// is folded to 32 bits, x = lo32(x64) ^ hi32(x64), and permutation i maps it through
//   pi_i(x) = mix32(a_i * x + b_i mod 2^32),  a_i odd,
// where mix32 is a fixed bijective xor-shift-multiply finaliser; (a_i, b_i) come from Philox keyed by
// the seed. Each pi_i is a bijection of the 32-bit space, so no overflow or modulus biases the minimum.
// signature[i] = min over the document's shingles of pi_i(x); an empty document gets 0xFFFFFFFF.
// Signatures are uint32: 512 bytes per document at 128 permutations. The 32-bit shingle values are
// also the shingle sets used for exact Jaccard verification.
//
// LSH. bands x rows <= num_perm; two documents become candidates when all rows of some band agree.
// P(candidate | Jaccard s) = 1 - (1 - s^rows)^bands (the S-curve). choose_lsh_params() picks, among
// all (bands, rows) with bands * rows <= num_perm and P(threshold) >= target_recall, the one with the
// smallest false-positive area (the integral of P over [0, threshold]).
//
// MinHashIndex holds signatures (and optionally shingle sets) of every added document, bucketed by
// band. Candidates are verified (exact Jaccard on shingle sets, or the signature estimate, or not at
// all) against the threshold, and verified pairs are unioned. clusters() gives each document the id
// of the smallest document in its connected component, so results do not depend on insertion batch
// sizes, thread count or sharding. Not thread-safe: one writer at a time; const members may run
// concurrently. Errors: InvalidArgument for bad parameters (named), CorruptData for a damaged file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mlforge/api.h"
#include "mlforge/dedup/text.h"

namespace mlforge {
namespace dedup {

inline constexpr int kMinHashScheme = 2;

struct MinHashParams {
  std::int32_t num_perm = 128;
  std::int32_t ngram = 5;
  std::uint64_t seed = 0;
  TokenizerConfig tokenizer;
  /// "minhash-v2/words-v1/n5/p128/s0": everything that must agree for signatures to be comparable.
  MLFORGE_API std::string scheme() const;
};

/// The 32-bit shingle values of each document in text order (a value repeats when a shingle does; as
/// a set, duplicates count once): document j owns values[offsets[j] .. offsets[j+1]).
struct ShingleSets {
  std::vector<std::uint32_t> values;
  std::vector<std::int64_t> offsets{0};
};

/// Computes signatures [batch.count, num_perm] (row-major) into `signatures`, which the caller sized.
/// When `sets` is not null it receives the documents' shingle sets. Returns the indices of documents
/// with invalid UTF-8 replaced (batch.replace_invalid), else throws for them like tokenize().
MLFORGE_API std::vector<std::int64_t> minhash_signatures(const TextBatch& batch, const MinHashParams& params,
                                                         std::uint32_t* signatures, ShingleSets* sets);

/// The permutation coefficients (a_i odd, b_i) of minhash-v2 for a seed; for reference implementations.
MLFORGE_API void minhash_v2_coefficients(std::uint64_t seed, std::int32_t num_perm, std::uint32_t* a,
                                         std::uint32_t* b);

/// The fixed 32-bit mixer of minhash-v2 (a bijection).
inline std::uint32_t minhash_v2_mix(std::uint32_t v) {
  v ^= v >> 16;
  v *= 0x7FEB352DU;
  v ^= v >> 15;
  v *= 0x846CA68BU;
  v ^= v >> 16;
  return v;
}

struct LshParams {
  std::int32_t bands = 0;
  std::int32_t rows = 0;
};

/// 1 - (1 - s^rows)^bands. Throws InvalidArgument for s outside [0, 1] or non-positive bands/rows.
MLFORGE_API double lsh_probability(const LshParams& lsh, double similarity);

/// See the header comment. Throws InvalidArgument for threshold outside (0, 1], target_recall outside
/// (0, 1), or num_perm < 1; when no (bands, rows) reaches target_recall, the one with the highest
/// P(threshold) is returned.
MLFORGE_API LshParams choose_lsh_params(double threshold, std::int32_t num_perm, double target_recall);

enum class Verify : std::int32_t { kNone = 0, kMinHash = 1, kJaccard = 2 };

struct IndexConfig {
  std::int32_t num_perm = 128;
  LshParams lsh;                     // bands * rows <= num_perm
  double threshold = 0.8;            // in (0, 1]: verified pairs have similarity >= threshold
  Verify verify = Verify::kJaccard;  // kJaccard needs shingle sets with every add/query
  std::string scheme;                // MinHashParams::scheme(); indexes of different schemes never mix
};

struct IndexStats {
  std::int64_t documents = 0;
  std::int64_t candidate_pairs = 0;  // bucket collisions examined
  std::int64_t verified_pairs = 0;   // passed verification and were unioned
  std::int64_t rejected_pairs = 0;   // failed verification (LSH false positives)
  std::int64_t memory_bytes = 0;     // signatures + shingle sets + buckets + union-find
};

class MLFORGE_API MinHashIndex {
 public:
  explicit MinHashIndex(const IndexConfig& config);
  ~MinHashIndex();
  MinHashIndex(MinHashIndex&&) noexcept;
  MinHashIndex& operator=(MinHashIndex&&) noexcept;

  const IndexConfig& config() const;
  std::int64_t size() const;
  IndexStats stats() const;

  /// Adds n documents (signatures [n, num_perm]; sets with n documents, required for kJaccard, else
  /// may be null) with ids size() .. size() + n - 1, and unions them with every verified candidate
  /// among all documents. Returns the first new id.
  std::int64_t add(const std::uint32_t* signatures, std::int64_t n, const ShingleSets* sets);

  /// For each of n query documents: the cluster id of the smallest indexed document it is a verified
  /// near-duplicate of, or -1. Does not change the index.
  std::vector<std::int64_t> query(const std::uint32_t* signatures, std::int64_t n, const ShingleSets* sets) const;

  /// Similarity of the indexed pairs (a[k], b[k]): exact Jaccard of their shingle sets with
  /// Verify::kJaccard, else the fraction of equal signature rows (the MinHash estimate). Throws
  /// OutOfRange for an id outside [0, size()).
  std::vector<double> similarity(const std::int64_t* a, const std::int64_t* b, std::int64_t n) const;

  /// Cluster id (smallest member's id) of every document, in id order.
  std::vector<std::int64_t> clusters() const;

  /// Appends every document of `other` (ids shift by size()) and unions across the two; the result
  /// equals one index built from this index's documents followed by other's. Configs must match.
  void merge(const MinHashIndex& other);

  /// Atomic, versioned, checksummed save; load() throws CorruptData for a damaged file.
  void save(const std::string& path) const;
  static MinHashIndex load(const std::string& path);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dedup
}  // namespace mlforge
