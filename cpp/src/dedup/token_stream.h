// Helpers shared by the stages that work on a tokenised batch (substring, contamination):
// validation of a caller-built Tokens, dense symbols for token hashes, and converting a
// per-token mark into merged spans. Internal.
#pragma once

#include <cstdint>
#include <vector>

#include "mlforge/dedup/spans.h"
#include "mlforge/dedup/text.h"

namespace mlforge::detail::dedup {

using mlforge::dedup::DocSpans;
using mlforge::dedup::Tokens;

/// Throws InvalidArgument ("[op] ...") unless doc_offsets starts at 0, never decreases, ends at
/// the number of tokens, and begin/end have one entry per token with 0 <= begin <= end.
void check_tokens(const Tokens& tokens, const char* op);

/// Number of documents of a checked Tokens.
inline std::int64_t doc_count(const Tokens& tokens) { return static_cast<std::int64_t>(tokens.doc_offsets.size()) - 1; }

/// Dense ids for 64-bit token hashes, assigned in order of first occurrence (deterministic).
class SymbolTable {
 public:
  explicit SymbolTable(std::size_t expected);
  /// The id of `hash`, adding it when new.
  std::int32_t insert(std::uint64_t hash);
  std::int32_t size() const { return size_; }
  /// remap[id] = rank of id's hash among all distinct hashes (ascending), for callers that want
  /// symbols ordered by hash value.
  std::vector<std::int32_t> ranks_by_hash() const;

 private:
  std::vector<std::uint64_t> keys_;
  std::vector<std::int32_t> ids_;  // -1: empty slot
  std::uint64_t mask_ = 0;
  std::int32_t size_ = 0;
};

/// Merged spans from a per-token mark: marked[g] for every token g of the batch (global index).
/// Token spans are local token indices; byte spans run from the first token's begin to the last
/// token's end. Also fills counts[j] = marked tokens of document j when counts is not null.
void spans_from_marks(const Tokens& tokens, const std::vector<unsigned char>& marked, DocSpans* token_spans,
                      DocSpans* byte_spans, std::vector<std::int64_t>* counts);

}  // namespace mlforge::detail::dedup
