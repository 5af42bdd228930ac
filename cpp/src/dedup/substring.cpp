// Exact-substring dedup (mlforge/dedup/substring.h): suffix array + LCP over the batch's token
// stream, then per suffix the longest match with another (or an earlier) suffix.
#include "mlforge/dedup/substring.h"

#include <algorithm>
#include <limits>
#include <string>

#include "dedup/suffix_array.h"
#include "dedup/token_stream.h"
#include "mlforge/error.h"

namespace mlforge::dedup {
namespace {

using detail::dedup::build_lcp;
using detail::dedup::build_suffix_array;
using detail::dedup::check_tokens;
using detail::dedup::doc_count;
using detail::dedup::SymbolTable;
using Index = std::int32_t;

inline std::size_t at(std::int64_t i) { return static_cast<std::size_t>(i); }

// The stream of dense symbols: tokens ranked by hash value, then one separator per document.
std::vector<Index> symbol_stream(const Tokens& tokens, Index* alphabet) {
  const std::int64_t docs = doc_count(tokens);
  const auto total = static_cast<std::int64_t>(tokens.hashes.size()) + docs;
  MLFORGE_CHECK(total < std::numeric_limits<Index>::max(), CapacityExceeded, "[dedup.substring] ",
                tokens.hashes.size(), " tokens in ", docs, " documents exceed the suffix array's limit of 2^31 - 2;",
                " split the batch");
  SymbolTable table(tokens.hashes.size());
  std::vector<Index> text;
  text.reserve(at(total));
  std::vector<Index> separator_at(at(docs));
  for (std::int64_t j = 0; j < docs; ++j) {
    for (std::int64_t g = tokens.doc_offsets[at(j)]; g < tokens.doc_offsets[at(j) + 1]; ++g) {
      text.push_back(table.insert(tokens.hashes[at(g)]));
    }
    separator_at[at(j)] = static_cast<Index>(text.size());
    text.push_back(0);  // patched below, once the number of distinct tokens is known
  }
  const Index distinct = table.size();
  const std::vector<Index> rank = table.ranks_by_hash();
  std::int64_t next_separator = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (next_separator < docs && i == at(separator_at[at(next_separator)])) {
      text[i] = distinct + static_cast<Index>(next_separator++);
    } else {
      text[i] = rank[at(text[i])];
    }
  }
  *alphabet = distinct + static_cast<Index>(docs);
  return text;
}

// best[p] = the longest common prefix of suffix sa[p] with any suffix starting earlier in the
// stream. LCP over a suffix-array range is the minimum of lcp inside it, so the best earlier
// suffix on each side is the nearest one with a smaller start; a monotone stack finds it while
// carrying the running minimum (g: min lcp from an entry up to the next entry, or to p).
std::vector<Index> longest_earlier_match(const std::vector<Index>& sa, const std::vector<Index>& lcp) {
  const auto n = static_cast<std::int64_t>(sa.size());
  constexpr Index kInf = std::numeric_limits<Index>::max();
  std::vector<Index> best(at(n), 0);
  std::vector<std::int64_t> stack;
  std::vector<Index> gap;
  auto scan = [&](std::int64_t p, Index step_lcp) {
    if (!stack.empty()) gap.back() = std::min(gap.back(), step_lcp);
    while (!stack.empty() && sa[at(stack.back())] > sa[at(p)]) {
      const Index g = gap.back();
      stack.pop_back();
      gap.pop_back();
      if (!gap.empty()) gap.back() = std::min(gap.back(), g);
    }
    if (!stack.empty()) best[at(p)] = std::max(best[at(p)], gap.back());
    stack.push_back(p);
    gap.push_back(kInf);
  };
  for (std::int64_t p = 0; p < n; ++p) scan(p, lcp[at(p)]);
  stack.clear();
  gap.clear();
  for (std::int64_t p = n - 1; p >= 0; --p) scan(p, p + 1 < n ? lcp[at(p + 1)] : 0);
  return best;
}

}  // namespace

TokenSuffixArray token_suffix_array(const Tokens& tokens) {
  check_tokens(tokens, "dedup.token_suffix_array");
  Index alphabet = 0;
  const std::vector<Index> text = symbol_stream(tokens, &alphabet);
  TokenSuffixArray out;
  out.sa = build_suffix_array(text, alphabet);
  out.lcp = build_lcp(text, out.sa);
  return out;
}

SubstringDuplicates substring_duplicates(const Tokens& tokens, const SubstringOptions& options) {
  MLFORGE_CHECK(options.min_tokens >= 1, InvalidArgument, "[dedup.substring] min_tokens must be >= 1, got ",
                options.min_tokens);
  check_tokens(tokens, "dedup.substring");
  Index alphabet = 0;
  const std::vector<Index> text = symbol_stream(tokens, &alphabet);
  const std::vector<Index> sa = build_suffix_array(text, alphabet);
  const std::vector<Index> lcp = build_lcp(text, sa);
  const auto n = static_cast<std::int64_t>(sa.size());

  // match[i]: how far the repeat starting at stream position i reaches (0: none long enough).
  std::vector<Index> match(at(n), 0);
  if (options.keep_first) {
    const std::vector<Index> best = longest_earlier_match(sa, lcp);
    for (std::int64_t p = 0; p < n; ++p) match[at(sa[at(p)])] = best[at(p)];
  } else {
    for (std::int64_t p = 0; p < n; ++p) {
      match[at(sa[at(p)])] = std::max(lcp[at(p)], p + 1 < n ? lcp[at(p + 1)] : Index{0});
    }
  }

  // Sweep the stream once: a token is marked while some long-enough repeat still covers it.
  // Separators never match, so no repeat reaches past its document.
  std::vector<unsigned char> marked(tokens.hashes.size(), 0);
  const std::int64_t docs = doc_count(tokens);
  std::int64_t reach = 0;
  for (std::int64_t j = 0; j < docs; ++j) {
    for (std::int64_t g = tokens.doc_offsets[at(j)]; g < tokens.doc_offsets[at(j) + 1]; ++g) {
      const std::int64_t pos = g + j;
      if (match[at(pos)] >= options.min_tokens) reach = std::max(reach, pos + match[at(pos)]);
      marked[at(g)] = pos < reach;
    }
  }

  SubstringDuplicates out;
  detail::dedup::spans_from_marks(tokens, marked, &out.token_spans, &out.byte_spans, &out.duplicated_tokens);
  out.token_counts.resize(at(docs));
  for (std::int64_t j = 0; j < docs; ++j) {
    out.token_counts[at(j)] = tokens.doc_offsets[at(j) + 1] - tokens.doc_offsets[at(j)];
  }
  out.invalid_utf8 = tokens.invalid_utf8;
  return out;
}

SubstringDuplicates substring_duplicates(const TextBatch& batch, const TokenizerConfig& config,
                                         const SubstringOptions& options) {
  MLFORGE_CHECK(options.min_tokens >= 1, InvalidArgument, "[dedup.substring] min_tokens must be >= 1, got ",
                options.min_tokens);
  return substring_duplicates(tokenize(batch, config), options);
}

}  // namespace mlforge::dedup
