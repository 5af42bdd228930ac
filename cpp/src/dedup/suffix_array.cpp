// Prefix doubling: after the round with step k every suffix carries a class that orders it by at
// least its first 2k symbols; groups of suffixes that still tie are re-sorted by the class of
// the suffix k further on (Manber-Myers doubling with Larsson-Sadakane's unsorted-group lists).
#include "dedup/suffix_array.h"

#include <algorithm>
#include <cstddef>
#include <utility>

namespace mlforge::detail::dedup {
namespace {

using Index = std::int32_t;

inline std::size_t at(Index i) { return static_cast<std::size_t>(i); }

}  // namespace

std::vector<Index> build_suffix_array(const std::vector<Index>& text, Index alphabet) {
  const auto n = static_cast<Index>(text.size());
  std::vector<Index> sa(at(n));
  if (n == 0) return sa;

  // Round 0: counting sort by symbol. A suffix's class is the start of its group in sa, so a
  // refined class never moves a suffix out of the range its old class names.
  std::vector<Index> bucket(at(alphabet) + 1, 0);
  for (Index i = 0; i < n; ++i) ++bucket[at(text[at(i)]) + 1];
  for (Index c = 0; c < alphabet; ++c) bucket[at(c) + 1] += bucket[at(c)];
  std::vector<Index> cls(at(n));
  for (Index i = 0; i < n; ++i) cls[at(i)] = bucket[at(text[at(i)])];
  for (Index i = 0; i < n; ++i) sa[at(bucket[at(text[at(i)])]++)] = i;
  std::vector<std::pair<Index, Index>> open, next;  // groups [begin, end) of sa not yet sorted
  for (Index p = 0; p < n;) {
    Index q = p + 1;
    while (q < n && cls[at(sa[at(q)])] == cls[at(sa[at(p)])]) ++q;
    if (q - p > 1) open.emplace_back(p, q);
    p = q;
  }

  // Doubling rounds touch only unsorted groups (Larsson-Sadakane), so text without long repeats
  // finishes after a round or two. Keys read classes already refined in this round; that is safe
  // because refined classes still order suffixes correctly.
  std::vector<std::pair<Index, Index>> keyed;  // (class of the second half, suffix)
  for (Index k = 1; !open.empty(); k = k > n / 2 ? n : 2 * k) {
    next.clear();
    for (const auto& [begin, end] : open) {
      keyed.clear();
      for (Index p = begin; p < end; ++p) {
        const Index i = sa[at(p)];
        keyed.emplace_back(i + k < n ? cls[at(i + k)] : Index{-1}, i);
      }
      std::sort(keyed.begin(), keyed.end());
      for (Index r = 0; r < end - begin;) {
        Index q = r + 1;
        while (q < end - begin && keyed[at(q)].first == keyed[at(r)].first) ++q;
        for (Index t = r; t < q; ++t) {
          sa[at(begin + t)] = keyed[at(t)].second;
          cls[at(keyed[at(t)].second)] = begin + r;
        }
        if (q - r > 1) next.emplace_back(begin + r, begin + q);
        r = q;
      }
    }
    open.swap(next);
  }
  return sa;
}

std::vector<Index> build_lcp(const std::vector<Index>& text, const std::vector<Index>& sa) {
  const auto n = static_cast<Index>(text.size());
  std::vector<Index> rank(at(n)), lcp(at(n), 0);
  for (Index p = 0; p < n; ++p) rank[at(sa[at(p)])] = p;
  // Kasai: the LCP of suffix i + 1 with its predecessor is at least the LCP of suffix i minus one.
  Index h = 0;
  for (Index i = 0; i < n; ++i) {
    const Index r = rank[at(i)];
    if (r == 0) {
      h = 0;
      continue;
    }
    const Index j = sa[at(r - 1)];
    while (i + h < n && j + h < n && text[at(i + h)] == text[at(j + h)]) ++h;
    lcp[at(r)] = h;
    if (h > 0) --h;
  }
  return lcp;
}

}  // namespace mlforge::detail::dedup
