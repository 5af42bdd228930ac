// Ragged per-document spans, the common output shape of the span-finding dedup stages
// (dedup/substring.h, dedup/contamination.h).
//
// Shapes: document j owns spans [doc_offsets[j], doc_offsets[j + 1]) of begin/end; doc_offsets has
// count + 1 entries. Each span is a half-open range [begin, end) in the unit the producer names
// (token indices within the document, or byte offsets into the document's original text). Spans of
// one document are sorted, non-empty and disjoint (merged), and never adjacent when they are token
// spans. Plain data: owns its vectors, safe to read from many threads.
#pragma once

#include <cstdint>
#include <vector>

namespace mlforge {
namespace dedup {

struct DocSpans {
  std::vector<std::int64_t> begin, end;
  std::vector<std::int64_t> doc_offsets;  // count + 1 entries
};

}  // namespace dedup
}  // namespace mlforge
