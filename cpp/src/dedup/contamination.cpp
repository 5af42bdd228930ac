// Contamination (mlforge/dedup/contamination.h): GPT-3 n-gram hits and Llama 2 token coverage,
// one parallel pass over documents against a gram index of the evaluation set.
#include "mlforge/dedup/contamination.h"

#include <algorithm>
#include <deque>
#include <tuple>
#include <utility>

#include "dedup/gram_index.h"
#include "dedup/token_stream.h"
#include "mlforge/error.h"
#include "mlforge/parallel.h"

namespace mlforge::dedup {
namespace {

using detail::dedup::GramIndex;
using detail::dedup::gram_hash;
using Interval = std::pair<std::int64_t, std::int64_t>;

inline std::size_t at(std::int64_t i) { return static_cast<std::size_t>(i); }

// Sorts and merges overlapping or touching intervals in place; returns the covered length.
std::int64_t merge(std::vector<Interval>& spans) {
  std::sort(spans.begin(), spans.end());
  std::size_t out = 0;
  for (const Interval& s : spans) {
    if (out > 0 && s.first <= spans[out - 1].second) {
      spans[out - 1].second = std::max(spans[out - 1].second, s.second);
    } else {
      spans[out++] = s;
    }
  }
  spans.resize(out);
  std::int64_t covered = 0;
  for (const Interval& s : spans) covered += s.second - s.first;
  return covered;
}

struct DocResult {
  std::int64_t ngram_hits = 0;
  std::vector<Interval> ngram_spans, coverage_spans;   // document token intervals, merged
  std::vector<std::pair<std::int64_t, std::int64_t>> pairs;  // (eval doc, covered doc tokens)
  std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>> eval_spans;  // (eval doc, begin, end)
};

// A seed: document position i equals eval document `eval` at i + diagonal for min_match tokens.
struct Seed {
  std::int64_t eval, diagonal, i;
  bool operator<(const Seed& o) const { return std::tie(eval, diagonal, i) < std::tie(o.eval, o.diagonal, o.i); }
};

class Scanner {
 public:
  Scanner(const Tokens& docs, const Tokens& eval, const GramIndex& ngrams, const GramIndex& seeds,
          const ContaminationOptions& options)
      : docs_(docs), eval_(eval), ngrams_(ngrams), seeds_(seeds), options_(options) {}

  DocResult scan(std::int64_t j) const {
    DocResult r;
    const std::uint64_t* a = docs_.hashes.data() + docs_.doc_offsets[at(j)];
    const std::int64_t len = docs_.doc_offsets[at(j) + 1] - docs_.doc_offsets[at(j)];
    ngram_overlap(a, len, &r);
    coverage(a, len, &r);
    return r;
  }

 private:
  const std::uint64_t* eval_doc(std::int64_t e) const { return eval_.hashes.data() + eval_.doc_offsets[at(e)]; }
  std::int64_t eval_len(std::int64_t e) const { return eval_.doc_offsets[at(e) + 1] - eval_.doc_offsets[at(e)]; }

  // Calls visit(eval doc, position) for every verified occurrence of a[i, i + width) in the index.
  template <class Visit>
  void occurrences(const GramIndex& index, const std::uint64_t* a, std::int64_t i, Visit&& visit) const {
    const std::int64_t w = index.width();
    const auto [first, last] = index.find(gram_hash(a + i, w));
    for (auto* o = first; o != last; ++o) {
      if (std::equal(a + i, a + i + w, eval_doc(o->doc) + o->position)) {
        if (!visit(o->doc, o->position)) return;
      }
    }
  }

  void ngram_overlap(const std::uint64_t* a, std::int64_t len, DocResult* r) const {
    const std::int64_t n = options_.ngram;
    for (std::int64_t i = 0; i + n <= len; ++i) {
      bool hit = false;
      occurrences(ngrams_, a, i, [&](std::int64_t, std::int64_t) { return !(hit = true); });
      if (!hit) continue;
      ++r->ngram_hits;
      if (!r->ngram_spans.empty() && i <= r->ngram_spans.back().second) {
        r->ngram_spans.back().second = i + n;
      } else {
        r->ngram_spans.emplace_back(i, i + n);
      }
    }
  }

  void coverage(const std::uint64_t* a, std::int64_t len, DocResult* r) const {
    const std::int64_t w = options_.min_match;
    std::vector<Seed> seeds;
    for (std::int64_t i = 0; i + w <= len; ++i) {
      occurrences(seeds_, a, i, [&](std::int64_t e, std::int64_t p) {
        seeds.push_back({e, p - i, i});
        return true;
      });
    }
    std::sort(seeds.begin(), seeds.end());
    std::vector<Interval> per_eval;  // document intervals of the current evaluation document
    for (std::size_t s = 0; s < seeds.size();) {
      std::size_t t = s;
      while (t < seeds.size() && seeds[t].eval == seeds[s].eval && seeds[t].diagonal == seeds[s].diagonal) ++t;
      extend_diagonal(a, len, seeds.data() + s, seeds.data() + t, &per_eval, r);
      if (t == seeds.size() || seeds[t].eval != seeds[s].eval) {
        const std::int64_t covered = merge(per_eval);
        r->pairs.emplace_back(seeds[s].eval, covered);
        r->coverage_spans.insert(r->coverage_spans.end(), per_eval.begin(), per_eval.end());
        per_eval.clear();
      }
      s = t;
    }
    merge(r->coverage_spans);
  }

  // Seeds [first, last) share an evaluation document and diagonal and are sorted by position.
  // `frontier` only moves forward: the window [start, frontier) holds at most max_mismatches
  // mismatches (their positions in `mismatches`), and frontier stops at the one that would
  // exceed the budget or at the end of either sequence.
  void extend_diagonal(const std::uint64_t* a, std::int64_t len, const Seed* first, const Seed* last,
                       std::vector<Interval>* doc_spans, DocResult* r) const {
    const std::int64_t e = first->eval, d = first->diagonal;
    const std::uint64_t* b = eval_doc(e);
    const std::int64_t limit = std::min(len, eval_len(e) - d);
    const auto budget = static_cast<std::size_t>(options_.max_mismatches);
    std::deque<std::int64_t> mismatches;
    std::int64_t frontier = 0;
    Interval current{-1, -1};
    auto flush = [&] {
      if (current.first < 0) return;
      doc_spans->push_back(current);
      r->eval_spans.emplace_back(e, current.first + d, current.second + d);
    };
    for (const Seed* seed = first; seed != last; ++seed) {
      const std::int64_t start = seed->i;
      if (start >= frontier) {
        frontier = start;
        mismatches.clear();
      }
      while (!mismatches.empty() && mismatches.front() < start) mismatches.pop_front();
      while (frontier < limit) {
        if (a[frontier] != b[frontier + d]) {
          if (mismatches.size() == budget) break;
          mismatches.push_back(frontier);
        }
        ++frontier;
      }
      // The match ends at the last equal position: drop trailing mismatches.
      std::int64_t end = frontier;
      for (auto m = mismatches.rbegin(); m != mismatches.rend() && *m == end - 1; ++m) --end;
      if (current.first >= 0 && start <= current.second) {
        current.second = std::max(current.second, end);
      } else {
        flush();
        current = {start, end};
      }
    }
    flush();
  }

  const Tokens& docs_;
  const Tokens& eval_;
  const GramIndex& ngrams_;
  const GramIndex& seeds_;
  const ContaminationOptions& options_;
};

// Byte spans of merged token intervals of document j.
void append_byte_spans(const Tokens& tokens, std::int64_t j, const std::vector<Interval>& spans, DocSpans* out) {
  const std::int64_t base = tokens.doc_offsets[at(j)];
  for (const Interval& s : spans) {
    out->begin.push_back(tokens.begin[at(base + s.first)]);
    out->end.push_back(tokens.end[at(base + s.second - 1)]);
  }
  out->doc_offsets.push_back(static_cast<std::int64_t>(out->begin.size()));
}

double fraction(std::int64_t part, std::int64_t whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

void check_options(const ContaminationOptions& options) {
  MLFORGE_CHECK(options.ngram >= 1, InvalidArgument, "[dedup.contamination] ngram must be >= 1, got ", options.ngram);
  MLFORGE_CHECK(options.min_match >= 1, InvalidArgument, "[dedup.contamination] min_match must be >= 1, got ",
                options.min_match);
  MLFORGE_CHECK(options.max_mismatches >= 0, InvalidArgument,
                "[dedup.contamination] max_mismatches must be >= 0, got ", options.max_mismatches);
}

}  // namespace

Contamination contamination(const Tokens& docs, const Tokens& eval, const ContaminationOptions& options) {
  check_options(options);
  detail::dedup::check_tokens(docs, "dedup.contamination");
  detail::dedup::check_tokens(eval, "dedup.contamination");
  const GramIndex ngrams(eval, options.ngram);
  const GramIndex seeds(eval, options.min_match);
  const Scanner scanner(docs, eval, ngrams, seeds, options);

  const std::int64_t n = detail::dedup::doc_count(docs);
  std::vector<DocResult> results(at(n));
  parallel_for(0, n, 8, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t j = lo; j < hi; ++j) results[at(j)] = scanner.scan(j);
  });

  Contamination out;
  out.ngram_byte_spans.doc_offsets.assign(1, 0);
  out.coverage_byte_spans.doc_offsets.assign(1, 0);
  const std::int64_t m = detail::dedup::doc_count(eval);
  std::vector<unsigned char> eval_marked(eval.hashes.size(), 0);
  for (std::int64_t j = 0; j < n; ++j) {
    DocResult& r = results[at(j)];
    const std::int64_t tokens = docs.doc_offsets[at(j) + 1] - docs.doc_offsets[at(j)];
    out.ngram_hits.push_back(r.ngram_hits);
    out.ngram_counts.push_back(std::max<std::int64_t>(0, tokens - options.ngram + 1));
    append_byte_spans(docs, j, r.ngram_spans, &out.ngram_byte_spans);
    std::int64_t covered = 0;
    for (const Interval& s : r.coverage_spans) covered += s.second - s.first;
    out.token_counts.push_back(tokens);
    out.contaminated_tokens.push_back(covered);
    out.contaminated_fraction.push_back(fraction(covered, tokens));
    append_byte_spans(docs, j, r.coverage_spans, &out.coverage_byte_spans);
    for (const auto& [e, pair_covered] : r.pairs) {
      out.pair_doc.push_back(j);
      out.pair_eval.push_back(e);
      out.pair_tokens.push_back(pair_covered);
    }
    for (const auto& [e, begin, end] : r.eval_spans) {
      std::fill(eval_marked.begin() + eval.doc_offsets[at(e)] + begin, eval_marked.begin() + eval.doc_offsets[at(e)] + end,
                static_cast<unsigned char>(1));
    }
    r = DocResult();  // free as we go
  }
  for (std::int64_t e = 0; e < m; ++e) {
    const std::int64_t first = eval.doc_offsets[at(e)], last = eval.doc_offsets[at(e) + 1];
    const auto covered = static_cast<std::int64_t>(
        std::count(eval_marked.begin() + first, eval_marked.begin() + last, static_cast<unsigned char>(1)));
    out.eval_token_counts.push_back(last - first);
    out.eval_contaminated_tokens.push_back(covered);
    out.eval_contaminated_fraction.push_back(fraction(covered, last - first));
  }
  out.invalid_utf8 = docs.invalid_utf8;
  out.eval_invalid_utf8 = eval.invalid_utf8;
  return out;
}

Contamination contamination(const TextBatch& docs, const TextBatch& eval, const TokenizerConfig& config,
                            const ContaminationOptions& options) {
  check_options(options);  // before tokenising, so a bad option fails fast
  return contamination(tokenize(docs, config), tokenize(eval, config), options);
}

}  // namespace mlforge::dedup
