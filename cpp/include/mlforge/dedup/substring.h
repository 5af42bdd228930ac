// Exact-substring deduplication (Lee et al. 2021, "Deduplicating Training Data Makes Language
// Models Better", ExactSubstr), on the token stream of the shared dedup tokenizer (dedup/text.h).
//
// Definition. Concatenate the batch's documents in order, each followed by a separator symbol
// unique to that document, so no repeated span can cross a document boundary. A token at stream
// position t is *duplicated* when it lies inside a span s[i, i + m) with m >= min_tokens that also
// occurs at another start position i' != i (anywhere in the batch, overlaps allowed):
//   keep_first = false: any other occurrence counts; every copy of a repeated span is marked (the
//                       behaviour of the paper's tool);
//   keep_first = true:  only an occurrence at an earlier start i' < i (corpus order: document
//                       index, then position) counts, so the first copy of every repeated span
//                       survives and only later copies are marked.
// Equality is equality of 64-bit token hashes (normalised tokens, see dedup/text.h).
//
// Algorithm: token hashes -> dense symbols (ranked by hash value), suffix array by prefix
// doubling with counting sorts (O(n log n)), LCP by Kasai (O(n)); the longest match of each suffix
// with any other suffix comes from its two neighbours in the suffix array, and with an earlier
// suffix from its nearest neighbours of smaller start on both sides (all-nearest-smaller-values
// stack, O(n)). The suffix array is sequential; tokenisation runs on the thread pool. Results
// never depend on the thread count.
//
// Ownership: the batch is borrowed for the duration of the call; results own their memory.
// Thread-safety: the functions are reentrant. They block until done.
// Errors: InvalidArgument for min_tokens < 1, for invalid UTF-8 (see TextBatch::replace_invalid)
// and malformed Tokens; CapacityExceeded when tokens + documents exceed 2^31 - 2.
#pragma once

#include <cstdint>
#include <vector>

#include "mlforge/api.h"
#include "mlforge/dedup/spans.h"
#include "mlforge/dedup/text.h"

namespace mlforge {
namespace dedup {

struct SubstringOptions {
  std::int64_t min_tokens = 50;  // shortest repeated span that counts (Lee et al.: 50 BPE tokens)
  bool keep_first = true;        // keep the first copy in corpus order, mark later copies only
};

/// Duplicated spans per document, merged and sorted.
struct SubstringDuplicates {
  DocSpans token_spans;                         // token indices within each document
  DocSpans byte_spans;                          // [first token's begin, last token's end) in the text
  std::vector<std::int64_t> duplicated_tokens;  // per document: tokens inside token_spans
  std::vector<std::int64_t> token_counts;       // per document: all tokens
  std::vector<std::int64_t> invalid_utf8;       // documents whose invalid bytes were replaced
};

/// Finds the duplicated spans of an already tokenised batch (spans are reported in its units).
MLFORGE_API SubstringDuplicates substring_duplicates(const Tokens& tokens, const SubstringOptions& options);

/// Tokenises the batch with `config`, then finds the duplicated spans.
MLFORGE_API SubstringDuplicates substring_duplicates(const TextBatch& batch, const TokenizerConfig& config,
                                                     const SubstringOptions& options);

/// The suffix array of a tokenised batch, for analyses beyond dedup (occurrence counts, spans
/// shared between two corpora). The stream holds document j's token k at position
/// doc_offsets[j] + j + k, and document j's separator at doc_offsets[j + 1] + j; its length is
/// tokens + documents. sa: stream positions in lexicographic order of their suffixes, tokens
/// compared by hash value, separators after every token and by document index; lcp[p]: the
/// longest common prefix (in symbols) of suffixes sa[p - 1] and sa[p], lcp[0] = 0.
struct TokenSuffixArray {
  std::vector<std::int32_t> sa, lcp;
};

MLFORGE_API TokenSuffixArray token_suffix_array(const Tokens& tokens);

}  // namespace dedup
}  // namespace mlforge
