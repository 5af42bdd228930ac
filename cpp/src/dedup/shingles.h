// Shingles of one document: the 64-bit hashes of its token n-grams (a document shorter than n has
// one shingle of all its tokens). Shared by MinHash and SimHash so both see the same shingles. Internal.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "dedup/tokenizer.h"

namespace mlforge::detail::dedup {

/// Hash of the n tokens at `tokens`: each position has its own odd multiplier, so the products are
/// independent (no serial dependency chain) and the hash still depends on token order.
inline std::uint64_t shingle_hash(const std::uint64_t* tokens, std::size_t n) {
  std::uint64_t h = 0x13198A2E03707344ULL ^ n;
  for (std::size_t k = 0; k < n; ++k) h += rotl64(tokens[k], static_cast<int>(k % 63) + 1) * (kMul1 + 2 * k * kMul2);
  return fmix64(h);
}

/// Calls emit(shingle_hash) per shingle, in order. `tokens` is scratch space.
template <class Emit>
void for_each_shingle(std::string_view doc, std::int64_t doc_index, const TokenizerConfig& config, std::int32_t ngram,
                      bool replace_invalid, bool* invalid, std::vector<std::uint64_t>& tokens, Emit&& emit) {
  tokens.clear();
  for_each_token(doc, doc_index, config, replace_invalid, invalid,
                 [&](std::uint64_t hash, std::int64_t, std::int64_t) { tokens.push_back(hash); });
  const auto n = static_cast<std::size_t>(ngram);
  if (tokens.empty()) return;
  if (tokens.size() < n) {  // a short document is one shingle of all its tokens
    emit(shingle_hash(tokens.data(), tokens.size()));
    return;
  }
  for (std::size_t i = 0; i + n <= tokens.size(); ++i) emit(shingle_hash(tokens.data() + i, n));
}

}  // namespace mlforge::detail::dedup
