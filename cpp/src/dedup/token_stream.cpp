// Token-stream helpers (token_stream.h).
#include "dedup/token_stream.h"

#include <algorithm>
#include <bit>
#include <utility>

#include "dedup/hash.h"
#include "mlforge/error.h"

namespace mlforge::detail::dedup {

void check_tokens(const Tokens& tokens, const char* op) {
  const auto n = static_cast<std::int64_t>(tokens.hashes.size());
  MLFORGE_CHECK(!tokens.doc_offsets.empty() && tokens.doc_offsets.front() == 0 && tokens.doc_offsets.back() == n,
                InvalidArgument, "[", op, "] tokens.doc_offsets must start at 0 and end at the token count ", n);
  MLFORGE_CHECK(static_cast<std::int64_t>(tokens.begin.size()) == n && static_cast<std::int64_t>(tokens.end.size()) == n,
                InvalidArgument, "[", op, "] tokens.begin/end must have one entry per token (", n, "), got ",
                tokens.begin.size(), " and ", tokens.end.size());
  for (std::size_t j = 1; j < tokens.doc_offsets.size(); ++j) {
    MLFORGE_CHECK(tokens.doc_offsets[j] >= tokens.doc_offsets[j - 1], InvalidArgument, "[", op,
                  "] tokens.doc_offsets must not decrease, got ", tokens.doc_offsets[j], " after ",
                  tokens.doc_offsets[j - 1], " at document ", j - 1);
  }
  for (std::size_t g = 0; g < tokens.hashes.size(); ++g) {
    MLFORGE_CHECK(tokens.begin[g] >= 0 && tokens.begin[g] <= tokens.end[g], InvalidArgument, "[", op,
                  "] token ", g, " has a bad byte span [", tokens.begin[g], ", ", tokens.end[g], ")");
  }
}

SymbolTable::SymbolTable(std::size_t expected) {
  const std::size_t capacity = std::bit_ceil(2 * expected + 16);
  keys_.assign(capacity, 0);
  ids_.assign(capacity, -1);
  mask_ = capacity - 1;
}

std::int32_t SymbolTable::insert(std::uint64_t hash) {
  // Token hashes are already mixed; one more multiply keeps adversarial low bits from clustering.
  std::uint64_t slot = (hash * kMul1 >> 17) & mask_;
  while (true) {
    const std::int32_t id = ids_[slot];
    if (id < 0) {
      keys_[slot] = hash;
      ids_[slot] = size_;
      return size_++;
    }
    if (keys_[slot] == hash) return id;
    slot = (slot + 1) & mask_;
  }
}

std::vector<std::int32_t> SymbolTable::ranks_by_hash() const {
  std::vector<std::pair<std::uint64_t, std::int32_t>> distinct;
  distinct.reserve(static_cast<std::size_t>(size_));
  for (std::size_t slot = 0; slot < ids_.size(); ++slot) {
    if (ids_[slot] >= 0) distinct.emplace_back(keys_[slot], ids_[slot]);
  }
  std::sort(distinct.begin(), distinct.end());
  std::vector<std::int32_t> rank(distinct.size());
  for (std::size_t r = 0; r < distinct.size(); ++r) rank[static_cast<std::size_t>(distinct[r].second)] = static_cast<std::int32_t>(r);
  return rank;
}

void spans_from_marks(const Tokens& tokens, const std::vector<unsigned char>& marked, DocSpans* token_spans,
                      DocSpans* byte_spans, std::vector<std::int64_t>* counts) {
  const std::int64_t docs = doc_count(tokens);
  token_spans->doc_offsets.assign(1, 0);
  byte_spans->doc_offsets.assign(1, 0);
  if (counts) counts->assign(static_cast<std::size_t>(docs), 0);
  for (std::int64_t j = 0; j < docs; ++j) {
    const std::int64_t first = tokens.doc_offsets[static_cast<std::size_t>(j)];
    const std::int64_t last = tokens.doc_offsets[static_cast<std::size_t>(j) + 1];
    std::int64_t g = first;
    while (g < last) {
      if (!marked[static_cast<std::size_t>(g)]) {
        ++g;
        continue;
      }
      const std::int64_t run = g;
      while (g < last && marked[static_cast<std::size_t>(g)]) ++g;
      token_spans->begin.push_back(run - first);
      token_spans->end.push_back(g - first);
      byte_spans->begin.push_back(tokens.begin[static_cast<std::size_t>(run)]);
      byte_spans->end.push_back(tokens.end[static_cast<std::size_t>(g - 1)]);
      if (counts) (*counts)[static_cast<std::size_t>(j)] += g - run;
    }
    token_spans->doc_offsets.push_back(static_cast<std::int64_t>(token_spans->begin.size()));
    byte_spans->doc_offsets.push_back(static_cast<std::int64_t>(byte_spans->begin.size()));
  }
}

}  // namespace mlforge::detail::dedup
