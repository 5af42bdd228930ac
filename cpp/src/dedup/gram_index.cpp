// Gram index (gram_index.h): one sorted occurrence array plus an open-addressing table from hash
// to its first occurrence, so a lookup is one probe sequence and a contiguous scan.
#include "dedup/gram_index.h"

#include <algorithm>
#include <bit>
#include <limits>

#include "dedup/hash.h"
#include "mlforge/error.h"
#include "mlforge/parallel.h"

namespace mlforge::detail::dedup {
namespace {

inline std::size_t at(std::int64_t i) { return static_cast<std::size_t>(i); }

}  // namespace

std::uint64_t gram_hash(const std::uint64_t* tokens, std::int64_t width) {
  SequenceHasher h(0xA4093822299F31D0ULL);
  for (std::int64_t k = 0; k < width; ++k) h.push(tokens[k]);
  return h.finish();
}

GramIndex::GramIndex(const mlforge::dedup::Tokens& tokens, std::int64_t width) : width_(width) {
  const auto docs = static_cast<std::int64_t>(tokens.doc_offsets.size()) - 1;
  MLFORGE_CHECK(docs < std::numeric_limits<std::int32_t>::max(), CapacityExceeded, "[dedup.gram_index] ", docs,
                " documents exceed the index's limit of 2^31 - 1");
  // Each document writes its own slice of the occurrence array.
  std::vector<std::int64_t> first(at(docs) + 1, 0);
  for (std::int64_t j = 0; j < docs; ++j) {
    const std::int64_t len = tokens.doc_offsets[at(j) + 1] - tokens.doc_offsets[at(j)];
    MLFORGE_CHECK(len < std::numeric_limits<std::int32_t>::max(), CapacityExceeded, "[dedup.gram_index] document ",
                  j, " has ", len, " tokens, more than the index's limit of 2^31 - 1");
    first[at(j) + 1] = first[at(j)] + std::max<std::int64_t>(0, len - width + 1);
  }
  occurrences_.resize(at(first.back()));
  parallel_for(0, docs, 16, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t j = lo; j < hi; ++j) {
      const std::uint64_t* doc = tokens.hashes.data() + tokens.doc_offsets[at(j)];
      for (std::int64_t i = 0; i < first[at(j) + 1] - first[at(j)]; ++i) {
        occurrences_[at(first[at(j)] + i)] = {gram_hash(doc + i, width), static_cast<std::int32_t>(j),
                                              static_cast<std::int32_t>(i)};
      }
    }
  });
  std::sort(occurrences_.begin(), occurrences_.end(), [](const Occurrence& a, const Occurrence& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.doc != b.doc ? a.doc < b.doc : a.position < b.position;
  });
  const std::size_t capacity = std::bit_ceil(2 * occurrences_.size() + 16);
  slots_.assign(capacity, Slot{0, -1});
  mask_ = capacity - 1;
  filter_.assign(std::bit_ceil(occurrences_.size() / 4 + 1), 0);
  filter_mask_ = filter_.size() * 64 - 1;
  for (std::size_t k = 0; k < occurrences_.size(); ++k) {
    const std::uint64_t hash = occurrences_[k].hash;
    if (k > 0 && hash == occurrences_[k - 1].hash) continue;
    std::uint64_t slot = (hash * kMul1 >> 17) & mask_;
    while (slots_[slot].first >= 0) slot = (slot + 1) & mask_;
    slots_[slot] = {hash, static_cast<std::int64_t>(k)};
    filter_[(hash & filter_mask_) >> 6] |= std::uint64_t{1} << (hash & 63);
  }
}

std::pair<const GramIndex::Occurrence*, const GramIndex::Occurrence*> GramIndex::find(std::uint64_t hash) const {
  if (!((filter_[(hash & filter_mask_) >> 6] >> (hash & 63)) & 1)) return {nullptr, nullptr};
  std::uint64_t slot = (hash * kMul1 >> 17) & mask_;
  while (slots_[slot].first >= 0) {
    if (slots_[slot].hash == hash) {
      const Occurrence* begin = occurrences_.data() + slots_[slot].first;
      const Occurrence* end = begin;
      const Occurrence* limit = occurrences_.data() + occurrences_.size();
      while (end != limit && end->hash == hash) ++end;
      return {begin, end};
    }
    slot = (slot + 1) & mask_;
  }
  return {nullptr, nullptr};
}

}  // namespace mlforge::detail::dedup
