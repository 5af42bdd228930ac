// Exact-substring dedup: suffix array and repeated spans against brute force, hand-made cases,
// keep_first semantics, document boundaries, thread-count independence and errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "dedup_test_util.h"
#include "mlforge/dedup/substring.h"
#include "mlforge/error.h"
#include "mlforge/parallel.h"

namespace {

using dedup_test::make_tokens;
using mlforge::dedup::SubstringDuplicates;
using mlforge::dedup::SubstringOptions;
using mlforge::dedup::Tokens;
using Docs = std::vector<std::vector<std::uint64_t>>;

// The stream the header documents: tokens, then a per-document separator that sorts after all
// tokens. Symbols: (0, token) or (1, document).
std::vector<std::pair<int, std::uint64_t>> stream_of(const Docs& docs) {
  std::vector<std::pair<int, std::uint64_t>> s;
  for (std::size_t j = 0; j < docs.size(); ++j) {
    for (auto h : docs[j]) s.emplace_back(0, h);
    s.emplace_back(1, j);
  }
  return s;
}

// Brute-force marks: token (j, a) is marked when a span of >= L tokens covering it occurs at
// another start (keep_first: at an earlier start in corpus order).
std::vector<std::vector<bool>> brute_marks(const Docs& docs, std::int64_t L, bool keep_first) {
  std::vector<std::vector<bool>> marks(docs.size());
  for (std::size_t j = 0; j < docs.size(); ++j) {
    marks[j].assign(docs[j].size(), false);
    for (std::size_t a = 0; a < docs[j].size(); ++a) {
      std::size_t best = 0;
      for (std::size_t k = 0; k < docs.size(); ++k) {
        for (std::size_t b = 0; b < docs[k].size(); ++b) {
          if (k == j && b == a) continue;
          if (keep_first && (k > j || (k == j && b > a))) continue;
          std::size_t l = 0;
          while (a + l < docs[j].size() && b + l < docs[k].size() && docs[j][a + l] == docs[k][b + l]) ++l;
          best = std::max(best, l);
        }
      }
      if (static_cast<std::int64_t>(best) >= L) {
        for (std::size_t t = a; t < a + best; ++t) marks[j][t] = true;
      }
    }
  }
  return marks;
}

std::vector<std::vector<bool>> marks_of(const SubstringDuplicates& r, const Docs& docs) {
  std::vector<std::vector<bool>> marks(docs.size());
  for (std::size_t j = 0; j < docs.size(); ++j) {
    marks[j].assign(docs[j].size(), false);
    for (auto s = r.token_spans.doc_offsets[j]; s < r.token_spans.doc_offsets[j + 1]; ++s) {
      const auto su = static_cast<std::size_t>(s);
      EXPECT_LT(r.token_spans.begin[su], r.token_spans.end[su]);
      // byte spans follow the synthetic layout of make_tokens: token k covers [4k, 4k + 3)
      EXPECT_EQ(r.byte_spans.begin[su], 4 * r.token_spans.begin[su]);
      EXPECT_EQ(r.byte_spans.end[su], 4 * r.token_spans.end[su] - 1);
      if (s > r.token_spans.doc_offsets[j]) {
        EXPECT_GT(r.token_spans.begin[su], r.token_spans.end[su - 1]);  // merged: never adjacent
      }
      for (auto t = r.token_spans.begin[su]; t < r.token_spans.end[su]; ++t) marks[j][static_cast<std::size_t>(t)] = true;
    }
  }
  return marks;
}

TEST(DedupSuffixArray, MatchesSortedSuffixesAndTheirLcp) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 40; ++trial) {
    const Docs docs = dedup_test::random_docs(rng, 1 + trial % 6, 30, 1 + trial % 4);
    const auto r = mlforge::dedup::token_suffix_array(make_tokens(docs));
    const auto s = stream_of(docs);
    std::vector<std::int32_t> expected(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) expected[i] = static_cast<std::int32_t>(i);
    std::sort(expected.begin(), expected.end(), [&](std::int32_t a, std::int32_t b) {
      return std::lexicographical_compare(s.begin() + a, s.end(), s.begin() + b, s.end());
    });
    ASSERT_EQ(r.sa, expected) << "trial " << trial;
    ASSERT_EQ(r.lcp.size(), s.size());
    for (std::size_t p = 1; p < s.size(); ++p) {
      std::int32_t l = 0;
      while (expected[p - 1] + l < static_cast<std::int32_t>(s.size()) && expected[p] + l < static_cast<std::int32_t>(s.size()) &&
             s[static_cast<std::size_t>(expected[p - 1] + l)] == s[static_cast<std::size_t>(expected[p] + l)])
        ++l;
      ASSERT_EQ(r.lcp[p], l) << "trial " << trial << " p " << p;
    }
  }
}

TEST(DedupSuffixArray, HandlesOneLongRun) {
  // A run of one symbol is the worst case for prefix doubling (log n rounds).
  const Docs docs{std::vector<std::uint64_t>(5000, 9)};
  const auto r = mlforge::dedup::token_suffix_array(make_tokens(docs));
  ASSERT_EQ(r.sa.size(), 5001u);
  // The separator sorts after the token, so longer runs come first.
  for (std::size_t p = 0; p <= 5000; ++p) ASSERT_EQ(r.sa[p], static_cast<std::int32_t>(p));
  for (std::size_t p = 1; p < 5000; ++p) ASSERT_EQ(r.lcp[p], 5000 - static_cast<std::int32_t>(p));
  EXPECT_EQ(r.lcp[5000], 0);
}

TEST(DedupSubstring, RandomCorporaMatchBruteForce) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 60; ++trial) {
    const Docs docs = dedup_test::random_docs(rng, 1 + trial % 5, 40, 2 + trial % 3);
    const Tokens tokens = make_tokens(docs);
    for (bool keep_first : {false, true}) {
      const std::int64_t L = 2 + trial % 5;
      const auto r = mlforge::dedup::substring_duplicates(tokens, SubstringOptions{L, keep_first});
      const auto expected = brute_marks(docs, L, keep_first);
      ASSERT_EQ(marks_of(r, docs), expected) << "trial " << trial << " keep_first " << keep_first;
      for (std::size_t j = 0; j < docs.size(); ++j) {
        const auto n = std::count(expected[j].begin(), expected[j].end(), true);
        EXPECT_EQ(r.duplicated_tokens[j], n);
        EXPECT_EQ(r.token_counts[j], static_cast<std::int64_t>(docs[j].size()));
      }
    }
  }
}

TEST(DedupSubstring, CopiedSpanInTextIsFoundWithByteOffsets) {
  // doc 0: 100 distinct words; doc 1: 80 other words with doc 0's words 20..79 copied in at 10.
  std::vector<std::uint64_t> a, b;
  for (std::uint64_t k = 0; k < 100; ++k) a.push_back(k);
  for (std::uint64_t k = 0; k < 10; ++k) b.push_back(500 + k);
  for (std::uint64_t k = 20; k < 80; ++k) b.push_back(k);
  for (std::uint64_t k = 0; k < 10; ++k) b.push_back(600 + k);
  const dedup_test::Batch batch({dedup_test::join_words(a), dedup_test::join_words(b)});
  const auto config = mlforge::dedup::parse_tokenizer("words-v1");

  const auto kept = mlforge::dedup::substring_duplicates(batch.batch(), config, SubstringOptions{50, true});
  ASSERT_EQ(kept.token_spans.doc_offsets, (std::vector<std::int64_t>{0, 0, 1}));
  EXPECT_EQ(kept.token_spans.begin[0], 10);
  EXPECT_EQ(kept.token_spans.end[0], 70);
  EXPECT_EQ(kept.byte_spans.begin[0], dedup_test::word_offset(b, 10));
  EXPECT_EQ(kept.byte_spans.end[0], dedup_test::word_offset(b, 70) - 1);  // the space after the span stays
  EXPECT_EQ(kept.duplicated_tokens, (std::vector<std::int64_t>{0, 60}));

  const auto all = mlforge::dedup::substring_duplicates(batch.batch(), config, SubstringOptions{50, false});
  ASSERT_EQ(all.token_spans.doc_offsets, (std::vector<std::int64_t>{0, 1, 2}));
  EXPECT_EQ(all.token_spans.begin[0], 20);
  EXPECT_EQ(all.token_spans.end[0], 80);
  EXPECT_EQ(all.token_spans.begin[1], 10);

  // Longer than the copy: nothing.
  const auto none = mlforge::dedup::substring_duplicates(batch.batch(), config, SubstringOptions{61, false});
  EXPECT_TRUE(none.token_spans.begin.empty());
}

TEST(DedupSubstring, NoMatchAcrossDocumentBoundaries) {
  // doc 0 ends with A (30 tokens), doc 1 starts with B (30 tokens); doc 2 holds A followed by B.
  // In the stream, A + B is contiguous apart from doc 0's separator, which must stop the match.
  std::vector<std::uint64_t> A, B, d0, d1, d2;
  for (std::uint64_t k = 0; k < 30; ++k) A.push_back(100 + k), B.push_back(200 + k);
  for (std::uint64_t k = 0; k < 5; ++k) d0.push_back(300 + k);
  d0.insert(d0.end(), A.begin(), A.end());
  d1 = B;
  for (std::uint64_t k = 0; k < 5; ++k) d1.push_back(400 + k);
  d2 = A;
  d2.insert(d2.end(), B.begin(), B.end());
  const auto r = mlforge::dedup::substring_duplicates(make_tokens({d0, d1, d2}), SubstringOptions{50, false});
  EXPECT_TRUE(r.token_spans.begin.empty());
  const auto short_spans = mlforge::dedup::substring_duplicates(make_tokens({d0, d1, d2}), SubstringOptions{30, false});
  EXPECT_EQ(short_spans.duplicated_tokens, (std::vector<std::int64_t>{30, 30, 60}));
}

TEST(DedupSubstring, KeepFirstWithinOneDocumentAndThreeCopies) {
  std::vector<std::uint64_t> X;
  for (std::uint64_t k = 0; k < 12; ++k) X.push_back(50 + k);
  std::vector<std::uint64_t> d0{1, 2};
  d0.insert(d0.end(), X.begin(), X.end());
  d0.push_back(3);
  d0.insert(d0.end(), X.begin(), X.end());  // second copy, same document
  std::vector<std::uint64_t> d1 = X;         // third copy
  const auto r = mlforge::dedup::substring_duplicates(make_tokens({d0, d1}), SubstringOptions{10, true});
  ASSERT_EQ(r.token_spans.doc_offsets, (std::vector<std::int64_t>{0, 1, 2}));
  EXPECT_EQ(r.token_spans.begin[0], 15);
  EXPECT_EQ(r.token_spans.end[0], 27);
  EXPECT_EQ(r.token_spans.begin[1], 0);
  EXPECT_EQ(r.token_spans.end[1], 12);
}

TEST(DedupSubstring, ResultsDoNotDependOnThreadCount) {
  std::mt19937_64 rng(3);
  std::vector<std::string> texts;
  for (int d = 0; d < 400; ++d) {
    std::vector<std::uint64_t> ids;
    const int len = 50 + static_cast<int>(rng() % 200);
    for (int k = 0; k < len; ++k) ids.push_back(rng() % 300);
    if (d % 7 == 3 && !texts.empty()) {  // splice in part of an earlier document
      const std::string& prev = texts[static_cast<std::size_t>(rng() % texts.size())];
      texts.push_back(dedup_test::join_words(ids) + " " + prev.substr(0, prev.size() / 2));
      continue;
    }
    texts.push_back(dedup_test::join_words(ids));
  }
  const dedup_test::Batch batch(texts);
  const auto config = mlforge::dedup::parse_tokenizer("words-v1");
  const int saved = mlforge::num_threads();
  mlforge::set_num_threads(1);
  const auto one = mlforge::dedup::substring_duplicates(batch.batch(), config, SubstringOptions{20, true});
  mlforge::set_num_threads(2);
  const auto two = mlforge::dedup::substring_duplicates(batch.batch(), config, SubstringOptions{20, true});
  mlforge::set_num_threads(saved);
  EXPECT_GT(std::count_if(one.duplicated_tokens.begin(), one.duplicated_tokens.end(), [](auto c) { return c > 0; }), 20);
  EXPECT_EQ(one.byte_spans.begin, two.byte_spans.begin);
  EXPECT_EQ(one.byte_spans.end, two.byte_spans.end);
  EXPECT_EQ(one.token_spans.doc_offsets, two.token_spans.doc_offsets);
}

TEST(DedupSubstring, RejectsBadArguments) {
  const Tokens tokens = make_tokens({{1, 2, 3}});
  EXPECT_THROW(mlforge::dedup::substring_duplicates(tokens, SubstringOptions{0, true}), mlforge::InvalidArgument);
  Tokens broken = tokens;
  broken.doc_offsets = {0, 5};
  EXPECT_THROW(mlforge::dedup::substring_duplicates(broken, SubstringOptions{}), mlforge::InvalidArgument);
  broken = tokens;
  broken.doc_offsets.clear();
  EXPECT_THROW(mlforge::dedup::token_suffix_array(broken), mlforge::InvalidArgument);
  // An empty batch is fine.
  Tokens empty;
  empty.doc_offsets = {0};
  const auto r = mlforge::dedup::substring_duplicates(empty, SubstringOptions{});
  EXPECT_EQ(r.token_spans.doc_offsets, (std::vector<std::int64_t>{0}));
}

}  // namespace
