// 64-bit SimHash of documents and near-duplicate search by Hamming distance.
//
// simhash_fingerprints(): Charikar's SimHash over the document's shingles (n-grams of the shared
// tokenizer's tokens, hashed as in minhash.h): bit b is 1 when more shingles have bit b set than
// clear (ties give 0). An empty document gets 0 and is never anybody's duplicate.
// simhash_clusters(): documents whose fingerprints differ in at most max_distance bits are linked,
// and each document gets the smallest id of its connected component. Search by permuted tables
// (Manku et al. 2007): the 64 bits are cut into max_distance + 1 blocks, and by the pigeonhole
// principle two fingerprints within the distance agree exactly on at least one block, so grouping
// by each block finds every pair; each pair is then checked by popcount. Deterministic.
// Errors: InvalidArgument for max_distance outside [0, 16] or ngram < 1.
#pragma once

#include <cstdint>
#include <vector>

#include "mlforge/api.h"
#include "mlforge/dedup/text.h"

namespace mlforge {
namespace dedup {

/// Writes batch.count fingerprints, and to `empty` (may be null) 1 for documents without shingles;
/// returns the documents with replaced invalid UTF-8.
MLFORGE_API std::vector<std::int64_t> simhash_fingerprints(const TextBatch& batch, const TokenizerConfig& tokenizer,
                                                           std::int32_t ngram, std::uint64_t* fingerprints,
                                                           unsigned char* empty);

/// Cluster id per document (smallest id of its component); `empty` (may be null) flags documents
/// that must stay alone (no shingles).
MLFORGE_API std::vector<std::int64_t> simhash_clusters(const std::uint64_t* fingerprints, const unsigned char* empty,
                                                       std::int64_t n, std::int32_t max_distance);

}  // namespace dedup
}  // namespace mlforge
