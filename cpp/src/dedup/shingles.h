// Shingles of one document: the 64-bit hashes of its token n-grams (a document shorter than n has
// one shingle of all its tokens). Shared by MinHash and SimHash so both see the same shingles. Internal.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "dedup/tokenizer.h"

namespace mlforge::detail::dedup {

/// Shingle hashes as a rolling polynomial over the token hashes, H = sum_k t_k B^(n-1-k) mod 2^64,
/// finished by fmix64: two multiplications per shingle whatever n, still order-dependent, and with
/// well-mixed token hashes two different n-grams collide with probability about 2^-64.
inline constexpr std::uint64_t kShingleBase = 0x9FB21C651E98DF25ULL;  // odd

inline std::uint64_t power(std::uint64_t base, std::size_t exponent) {
  std::uint64_t result = 1;
  for (std::size_t k = 0; k < exponent; ++k) result *= base;
  return result;
}

/// Calls emit(shingle_hash) per shingle, in order. `tokens` is scratch space.
template <class Emit>
void for_each_shingle(std::string_view doc, std::int64_t doc_index, const TokenizerConfig& config, std::int32_t ngram,
                      bool replace_invalid, bool* invalid, std::vector<std::uint64_t>& tokens, Emit&& emit) {
  tokens.clear();
  for_each_token(doc, doc_index, config, replace_invalid, invalid,
                 [&](std::uint64_t hash, std::int64_t, std::int64_t) { tokens.push_back(hash); });
  if (tokens.empty()) return;
  // A short document is one shingle of all its tokens.
  const std::size_t n = std::min(static_cast<std::size_t>(ngram), tokens.size());
  const std::uint64_t leading = power(kShingleBase, n - 1);  // weight of the token leaving the window
  std::uint64_t h = 0;
  for (std::size_t k = 0; k < n; ++k) h = h * kShingleBase + tokens[k];
  emit(fmix64(h ^ n));
  for (std::size_t i = n; i < tokens.size(); ++i) {
    h = (h - tokens[i - n] * leading) * kShingleBase + tokens[i];
    emit(fmix64(h ^ n));
  }
}

}  // namespace mlforge::detail::dedup
