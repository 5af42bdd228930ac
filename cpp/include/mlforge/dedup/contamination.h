// Contamination of training documents by an evaluation set, on the tokens of the shared dedup
// tokenizer (dedup/text.h), in two published styles computed in one call.
//
// 1. GPT-3 (Brown et al. 2020, App. C): n-gram overlap. A document's n-gram at token position i
//    (tokens [i, i + ngram)) is a hit when the same n tokens occur anywhere in an evaluation
//    document. Per document: the number of hit positions, the number of positions
//    (max(0, tokens - ngram + 1)), and the merged byte spans covered by hit n-grams.
// 2. Llama 2 (Touvron et al. 2023, App. A.6): token coverage. A *match* between document a and
//    evaluation document b is a pair of aligned windows a[i, i + m), b[j, j + m) with
//      - m >= min_match,
//      - a[i + k] == b[j + k] for every k < min_match (no mismatch in the first min_match tokens),
//      - a[i + m - 1] == b[j + m - 1] (no trailing mismatch),
//      - at most max_mismatches positions k with a[i + k] != b[j + k] (same-length substitutions;
//        no insertions or deletions).
//    Every token inside a match window (mismatched positions included) is contaminated, on both
//    sides. Per document: contaminated tokens, their fraction and merged byte spans; per (document,
//    evaluation document) pair with at least one match: the document tokens covered by matches
//    with that evaluation document; per evaluation document: its contaminated tokens and fraction
//    (the quantity Llama 2 thresholds: "clean" < 20%, "dirty" > 80%).
// Token equality is equality of 64-bit token hashes; n-gram hashes only index the evaluation set
// and every candidate is verified token by token, so results are exact on token hashes.
//
// Algorithm: a hash index of the evaluation set's ngram-grams and min_match-grams. Coverage seeds
// are exact min_match-gram matches; seeds on one diagonal (j - i) are extended greedily, left to
// right, with a sliding window over the mismatch positions, so each diagonal is scanned once. The
// maximal match from a seed ends at the last equal position before the (max_mismatches + 1)-th
// mismatch, and the union of these windows over all seeds is exactly the union of all matches.
// Documents are processed in parallel in fixed chunks; results never depend on the thread count.
//
// Ownership: inputs are borrowed for the call; results own their memory. Reentrant; blocks.
// Errors: InvalidArgument for ngram < 1, min_match < 1, max_mismatches < 0, invalid UTF-8 (see
// TextBatch::replace_invalid) or malformed Tokens.
#pragma once

#include <cstdint>
#include <vector>

#include "mlforge/api.h"
#include "mlforge/dedup/spans.h"
#include "mlforge/dedup/text.h"

namespace mlforge {
namespace dedup {

struct ContaminationOptions {
  std::int64_t ngram = 13;          // GPT-3 n-gram length
  std::int64_t min_match = 10;      // Llama 2: shortest match, and its exact prefix
  std::int64_t max_mismatches = 4;  // Llama 2: "skip-gram budget"
};

struct Contamination {
  // GPT-3 n-gram overlap, one entry per document.
  std::vector<std::int64_t> ngram_hits;    // positions whose n-gram occurs in the evaluation set
  std::vector<std::int64_t> ngram_counts;  // max(0, tokens - ngram + 1)
  DocSpans ngram_byte_spans;               // merged byte spans of hit n-grams
  // Llama 2 token coverage, one entry per document.
  std::vector<std::int64_t> token_counts;
  std::vector<std::int64_t> contaminated_tokens;
  std::vector<double> contaminated_fraction;  // contaminated / tokens (0 for a document without tokens)
  DocSpans coverage_byte_spans;               // merged byte spans of contaminated tokens
  // (document, evaluation document) pairs with a match, sorted by document then evaluation
  // document; pair_tokens: document tokens covered by matches with that evaluation document.
  std::vector<std::int64_t> pair_doc, pair_eval, pair_tokens;
  // Llama 2 token coverage, one entry per evaluation document.
  std::vector<std::int64_t> eval_token_counts;
  std::vector<std::int64_t> eval_contaminated_tokens;
  std::vector<double> eval_contaminated_fraction;
  std::vector<std::int64_t> invalid_utf8, eval_invalid_utf8;  // documents with replaced bytes
};

/// Contamination of tokenised documents by tokenised evaluation documents (same tokenizer).
MLFORGE_API Contamination contamination(const Tokens& docs, const Tokens& eval, const ContaminationOptions& options);

/// Tokenises both batches with `config`, then measures contamination.
MLFORGE_API Contamination contamination(const TextBatch& docs, const TextBatch& eval, const TokenizerConfig& config,
                                        const ContaminationOptions& options);

}  // namespace dedup
}  // namespace mlforge
