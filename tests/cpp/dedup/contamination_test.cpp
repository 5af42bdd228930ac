// Contamination: GPT-3 n-gram hits and Llama 2 token coverage against brute force over every
// window, hand-made mismatch-budget cases, thread-count independence and errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "dedup_test_util.h"
#include "mlforge/dedup/contamination.h"
#include "mlforge/error.h"
#include "mlforge/parallel.h"

namespace {

using dedup_test::make_tokens;
using mlforge::dedup::Contamination;
using mlforge::dedup::ContaminationOptions;
using mlforge::dedup::DocSpans;
using Doc = std::vector<std::uint64_t>;
using Docs = std::vector<Doc>;
using Marks = std::vector<std::vector<bool>>;

// Token marks from byte spans in make_tokens' layout (token k covers bytes [4k, 4k + 3)).
Marks marks_from_bytes(const DocSpans& spans, const Docs& docs) {
  Marks marks(docs.size());
  for (std::size_t j = 0; j < docs.size(); ++j) {
    marks[j].assign(docs[j].size(), false);
    for (auto s = spans.doc_offsets[j]; s < spans.doc_offsets[j + 1]; ++s) {
      const auto su = static_cast<std::size_t>(s);
      EXPECT_EQ(spans.begin[su] % 4, 0);
      EXPECT_EQ(spans.end[su] % 4, 3);
      if (s > spans.doc_offsets[j]) {
        EXPECT_GT(spans.begin[su], spans.end[su - 1]);  // merged
      }
      for (auto k = spans.begin[su] / 4; k <= spans.end[su] / 4; ++k) marks[j][static_cast<std::size_t>(k)] = true;
    }
  }
  return marks;
}

// Every window (i, j, m) checked against the definition in the header.
struct Brute {
  Marks doc_marks, eval_marks, ngram_marks;
  std::vector<std::int64_t> ngram_hits;
  std::vector<std::vector<std::int64_t>> pair_tokens;  // [doc][eval]
};

Brute brute(const Docs& docs, const Docs& eval, const ContaminationOptions& o) {
  Brute r;
  r.eval_marks.resize(eval.size());
  for (std::size_t e = 0; e < eval.size(); ++e) r.eval_marks[e].assign(eval[e].size(), false);
  for (const Doc& a : docs) {
    r.doc_marks.emplace_back(a.size(), false);
    r.ngram_marks.emplace_back(a.size(), false);
    r.pair_tokens.emplace_back(eval.size(), 0);
    std::int64_t hits = 0;
    const auto n = static_cast<std::size_t>(o.ngram);
    for (std::size_t i = 0; i + n <= a.size(); ++i) {
      bool hit = false;
      for (const Doc& b : eval) {
        for (std::size_t j = 0; j + n <= b.size() && !hit; ++j) hit = std::equal(a.begin() + i, a.begin() + i + n, b.begin() + j);
      }
      if (hit) {
        ++hits;
        for (std::size_t k = i; k < i + n; ++k) r.ngram_marks.back()[k] = true;
      }
    }
    r.ngram_hits.push_back(hits);
    const auto L = static_cast<std::size_t>(o.min_match);
    for (std::size_t e = 0; e < eval.size(); ++e) {
      const Doc& b = eval[e];
      std::vector<bool> pair_marks(a.size(), false);
      for (std::size_t i = 0; i < a.size(); ++i) {
        for (std::size_t j = 0; j < b.size(); ++j) {
          std::int64_t mismatches = 0;
          for (std::size_t m = 1; i + m <= a.size() && j + m <= b.size(); ++m) {
            const bool equal = a[i + m - 1] == b[j + m - 1];
            if (!equal) {
              if (m <= L) break;  // a mismatch inside the exact prefix
              ++mismatches;
            }
            if (mismatches > o.max_mismatches) break;
            if (m >= L && equal) {
              for (std::size_t k = 0; k < m; ++k) {
                pair_marks[i + k] = true;
                r.doc_marks.back()[i + k] = true;
                r.eval_marks[e][j + k] = true;
              }
            }
          }
        }
      }
      r.pair_tokens.back()[e] = std::count(pair_marks.begin(), pair_marks.end(), true);
    }
  }
  return r;
}

// Returns how many documents are partly (not wholly, not at all) contaminated.
int expect_matches_brute(const Docs& docs, const Docs& eval, const ContaminationOptions& o, const std::string& what) {
  const Contamination c = mlforge::dedup::contamination(make_tokens(docs), make_tokens(eval), o);
  const Brute b = brute(docs, eval, o);
  EXPECT_EQ(marks_from_bytes(c.coverage_byte_spans, docs), b.doc_marks) << what;
  EXPECT_EQ(marks_from_bytes(c.ngram_byte_spans, docs), b.ngram_marks) << what;
  EXPECT_EQ(c.ngram_hits, b.ngram_hits) << what;
  int partly = 0;
  for (std::size_t j = 0; j < docs.size(); ++j) {
    const auto marked = std::count(b.doc_marks[j].begin(), b.doc_marks[j].end(), true);
    partly += marked > 0 && marked < static_cast<std::int64_t>(docs[j].size());
    EXPECT_EQ(c.contaminated_tokens[j], marked) << what;
    EXPECT_EQ(c.token_counts[j], static_cast<std::int64_t>(docs[j].size()));
    EXPECT_DOUBLE_EQ(c.contaminated_fraction[j], docs[j].empty() ? 0.0 : double(marked) / double(docs[j].size()));
    EXPECT_EQ(c.ngram_counts[j], std::max<std::int64_t>(0, static_cast<std::int64_t>(docs[j].size()) - o.ngram + 1));
  }
  std::vector<std::int64_t> pair_doc, pair_eval, pair_tokens;
  for (std::size_t j = 0; j < docs.size(); ++j) {
    for (std::size_t e = 0; e < eval.size(); ++e) {
      if (b.pair_tokens[j][e] > 0) {
        pair_doc.push_back(static_cast<std::int64_t>(j));
        pair_eval.push_back(static_cast<std::int64_t>(e));
        pair_tokens.push_back(b.pair_tokens[j][e]);
      }
    }
  }
  EXPECT_EQ(c.pair_doc, pair_doc) << what;
  EXPECT_EQ(c.pair_eval, pair_eval) << what;
  EXPECT_EQ(c.pair_tokens, pair_tokens) << what;
  for (std::size_t e = 0; e < eval.size(); ++e) {
    EXPECT_EQ(c.eval_contaminated_tokens[e], std::count(b.eval_marks[e].begin(), b.eval_marks[e].end(), true)) << what;
    EXPECT_EQ(c.eval_token_counts[e], static_cast<std::int64_t>(eval[e].size()));
  }
  return partly;
}

// Eval documents that share pieces with the documents: random edits of copied slices.
Docs mutated_slices(std::mt19937_64& rng, const Docs& docs, int count, int alphabet) {
  Docs eval;
  for (int e = 0; e < count; ++e) {
    Doc b;
    const Doc& src = docs[rng() % docs.size()];
    if (!src.empty()) {
      const std::size_t from = rng() % src.size();
      b.assign(src.begin() + static_cast<std::ptrdiff_t>(from), src.end());
    }
    for (auto& t : b) {
      if (rng() % 6 == 0) t = 1000 + rng() % static_cast<std::uint64_t>(alphabet);
    }
    const auto extra = rng() % 8;
    for (std::uint64_t k = 0; k < extra; ++k) b.insert(b.begin(), 1000 + rng() % static_cast<std::uint64_t>(alphabet));
    eval.push_back(b);
  }
  return eval;
}

TEST(DedupContamination, RandomCorporaMatchBruteForce) {
  std::mt19937_64 rng(5);
  int partly = 0;
  for (int trial = 0; trial < 120; ++trial) {
    const int alphabet = 2 + trial % 6;
    const Docs docs = dedup_test::random_docs(rng, 1 + trial % 4, 40, alphabet);
    const Docs eval = mutated_slices(rng, docs, 1 + trial % 3, alphabet);
    ContaminationOptions o;
    o.ngram = 1 + trial % 7;
    o.min_match = 1 + trial % 6;
    o.max_mismatches = trial % 5;
    partly += expect_matches_brute(docs, eval, o, "trial " + std::to_string(trial));
  }
  EXPECT_GT(partly, 30);  // the corpora exercise partial coverage, not only all-or-nothing
}

Doc range(std::uint64_t from, std::uint64_t count) {
  Doc d;
  for (std::uint64_t k = 0; k < count; ++k) d.push_back(from + k);
  return d;
}

std::int64_t coverage_of(const Doc& doc, const Doc& eval, std::int64_t max_mismatches = 4) {
  ContaminationOptions o;
  o.max_mismatches = max_mismatches;
  return mlforge::dedup::contamination(make_tokens({doc}), make_tokens({eval}), o).contaminated_tokens[0];
}

TEST(DedupContamination, MismatchBudget) {
  const Doc E = range(100, 30);
  Doc four = E, five = E;
  for (std::size_t k : {12, 15, 18, 21}) four[k] = five[k] = 7;
  five[24] = 7;
  EXPECT_EQ(coverage_of(four, E), 30);  // four substitutions fit the budget: the whole copy
  EXPECT_EQ(coverage_of(five, E), 24);  // the fifth ends every match at token 23
  EXPECT_EQ(coverage_of(four, E, 3), 21);  // budget 3: the fourth mismatch (21) stops it
  EXPECT_EQ(coverage_of(four, E, 0), 12);  // exact only: [0, 12); the pieces after are < 10 tokens

  Doc early = E;
  early[5] = 7;  // inside the first 10 tokens of the copy: the match can only start after it
  EXPECT_EQ(coverage_of(early, E), 24);

  Doc trailing = range(100, 12);
  trailing.push_back(7);  // a trailing mismatch is not part of the match
  EXPECT_EQ(coverage_of(trailing, E), 12);

  EXPECT_EQ(coverage_of(range(100, 9), E), 0);  // shorter than min_match
  EXPECT_EQ(coverage_of(range(100, 10), E), 10);
}

TEST(DedupContamination, NgramOverlapOnText) {
  // The eval document's words 0..19; doc 0 holds words 3..15 (13 words) inside other text,
  // doc 1 only 12 of them.
  const Doc eval_words = range(0, 20);
  Doc d0 = range(500, 4), d1 = range(600, 4);
  for (std::uint64_t k = 3; k < 16; ++k) d0.push_back(k);
  for (std::uint64_t k = 3; k < 15; ++k) d1.push_back(k);
  d0.push_back(700);
  const dedup_test::Batch docs({dedup_test::join_words(d0), dedup_test::join_words(d1)});
  const dedup_test::Batch eval({dedup_test::join_words(eval_words)});
  const auto c = mlforge::dedup::contamination(docs.batch(), eval.batch(), mlforge::dedup::parse_tokenizer("words-v1"),
                                               ContaminationOptions{});
  EXPECT_EQ(c.ngram_hits, (std::vector<std::int64_t>{1, 0}));
  ASSERT_EQ(c.ngram_byte_spans.doc_offsets, (std::vector<std::int64_t>{0, 1, 1}));
  EXPECT_EQ(c.ngram_byte_spans.begin[0], dedup_test::word_offset(d0, 4));
  EXPECT_EQ(c.ngram_byte_spans.end[0], dedup_test::word_offset(d0, 17) - 1);
  // Coverage: 13 and 12 tokens inside >= 10-token matches.
  EXPECT_EQ(c.contaminated_tokens, (std::vector<std::int64_t>{13, 12}));
  EXPECT_EQ(c.pair_doc, (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(c.pair_eval, (std::vector<std::int64_t>{0, 0}));
  EXPECT_EQ(c.eval_contaminated_tokens, (std::vector<std::int64_t>{13}));  // words 3..15
  EXPECT_DOUBLE_EQ(c.eval_contaminated_fraction[0], 13.0 / 20.0);
}

TEST(DedupContamination, ResultsDoNotDependOnThreadCount) {
  std::mt19937_64 rng(9);
  const Docs docs = dedup_test::random_docs(rng, 600, 120, 40);
  const Docs eval = mutated_slices(rng, docs, 50, 40);
  const auto d = make_tokens(docs), e = make_tokens(eval);
  ContaminationOptions o;
  o.ngram = 4, o.min_match = 3;
  const int saved = mlforge::num_threads();
  mlforge::set_num_threads(1);
  const auto one = mlforge::dedup::contamination(d, e, o);
  mlforge::set_num_threads(2);
  const auto two = mlforge::dedup::contamination(d, e, o);
  mlforge::set_num_threads(saved);
  EXPECT_GT(std::count_if(one.contaminated_tokens.begin(), one.contaminated_tokens.end(), [](auto c) { return c > 0; }), 30);
  EXPECT_EQ(one.contaminated_tokens, two.contaminated_tokens);
  EXPECT_EQ(one.coverage_byte_spans.begin, two.coverage_byte_spans.begin);
  EXPECT_EQ(one.ngram_hits, two.ngram_hits);
  EXPECT_EQ(one.pair_eval, two.pair_eval);
  EXPECT_EQ(one.eval_contaminated_tokens, two.eval_contaminated_tokens);
}

TEST(DedupContamination, RejectsBadOptionsAndTakesEmptyInputs) {
  const auto t = make_tokens({{1, 2, 3}});
  for (auto o : {ContaminationOptions{0, 10, 4}, ContaminationOptions{13, 0, 4}, ContaminationOptions{13, 10, -1}}) {
    EXPECT_THROW(mlforge::dedup::contamination(t, t, o), mlforge::InvalidArgument);
  }
  const auto none = make_tokens({});
  const auto c = mlforge::dedup::contamination(t, none, ContaminationOptions{});
  EXPECT_EQ(c.contaminated_tokens, (std::vector<std::int64_t>{0}));
  EXPECT_TRUE(c.eval_token_counts.empty());
  const auto d = mlforge::dedup::contamination(none, t, ContaminationOptions{});
  EXPECT_EQ(d.eval_contaminated_tokens, (std::vector<std::int64_t>{0}));
}

}  // namespace
