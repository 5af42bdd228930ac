// Suffix array (prefix doubling with one counting sort per round) and LCP array (Kasai et al.)
// over an integer string. Internal to the substring and contamination stages.
#pragma once

#include <cstdint>
#include <vector>

namespace mlforge::detail::dedup {

/// Sorted suffix start positions of text, whose symbols lie in [0, alphabet). The end of the
/// string sorts before every symbol. Each doubling round sorts only the suffixes that still tie,
/// so the cost is O(n log n) for text whose repeats are short and O(n log^2 n) in the worst case
/// (one long run of a single symbol). n < 2^31 - 1.
std::vector<std::int32_t> build_suffix_array(const std::vector<std::int32_t>& text, std::int32_t alphabet);

/// lcp[p] = length of the longest common prefix of suffixes sa[p - 1] and sa[p]; lcp[0] = 0.
std::vector<std::int32_t> build_lcp(const std::vector<std::int32_t>& text, const std::vector<std::int32_t>& sa);

}  // namespace mlforge::detail::dedup
