// An exact index of every width-token window (gram) of a tokenised batch: gram hash -> all
// (document, position) occurrences. Lookups return candidates; callers verify tokens. Internal.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "mlforge/dedup/text.h"

namespace mlforge::detail::dedup {

/// Order-dependent 64-bit hash of tokens[0, width).
std::uint64_t gram_hash(const std::uint64_t* tokens, std::int64_t width);

class GramIndex {
 public:
  struct Occurrence {
    std::uint64_t hash;
    std::int32_t doc;
    std::int32_t position;  // token index within the document
  };

  /// Indexes every window of `width` tokens of every document (width >= 1). Parallel over
  /// documents; the layout does not depend on the thread count.
  GramIndex(const mlforge::dedup::Tokens& tokens, std::int64_t width);

  /// Occurrences whose gram hash equals `hash`, sorted by (document, position); [first, last).
  std::pair<const Occurrence*, const Occurrence*> find(std::uint64_t hash) const;

  std::int64_t width() const { return width_; }

 private:
  std::int64_t width_;
  std::vector<Occurrence> occurrences_;  // sorted by (hash, doc, position)
  struct Slot {
    std::uint64_t hash;
    std::int64_t first;  // -1: empty; else index of the hash's first occurrence
  };
  std::vector<Slot> slots_;
  std::uint64_t mask_ = 0;
  // One bit per hash (16 bits per distinct gram): most lookups are misses, and this small array
  // stays in cache while the table does not.
  std::vector<std::uint64_t> filter_;
  std::uint64_t filter_mask_ = 0;
};

}  // namespace mlforge::detail::dedup
