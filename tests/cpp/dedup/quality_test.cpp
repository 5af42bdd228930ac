// Quality signals against a direct string-based reference on random documents, hand-made values,
// Unicode whitespace and letters, thread-count independence and errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "dedup_test_util.h"
#include "mlforge/dedup/quality.h"
#include "mlforge/error.h"
#include "mlforge/parallel.h"

namespace {

using mlforge::dedup::kQualitySignalCount;
using Row = std::vector<double>;

// ---- reference, written from the header's definitions with plain std::string operations ----
// Random texts use only ' ', '\t', '\r', '\n' as whitespace and "é", "中" (letters), "…", "•"
// (not letters) beyond ASCII.

std::int64_t code_points(const std::string& s) {
  return std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}
bool space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
std::string strip(const std::string& s) {
  std::size_t a = 0, b = s.size();
  while (a < b && space(s[a])) ++a;
  while (b > a && space(s[b - 1])) --b;
  return s.substr(a, b - a);
}
std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == sep) {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}
bool starts(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
bool ends(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}
double frac(double a, double b) { return b > 0 ? a / b : 0.0; }

// (duplicate count, duplicate code points, all code points) of a list of units.
std::vector<double> dup_units(const std::vector<std::string>& units) {
  std::set<std::string> seen;
  double count = 0, chars = 0, all = 0;
  for (const auto& u : units) {
    all += static_cast<double>(code_points(u));
    if (!seen.insert(u).second) count += 1, chars += static_cast<double>(code_points(u));
  }
  return {frac(count, static_cast<double>(units.size())), frac(chars, all)};
}

Row reference(const std::string& text) {
  Row row(kQualitySignalCount, 0.0);
  std::vector<std::string> words;
  std::string cur;
  for (char c : text + " ") {
    if (space(c)) {
      if (!cur.empty()) words.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  const auto W = static_cast<double>(words.size());
  double chars = 0, alpha = 0, stop = 0;
  static const std::set<std::string> kStop{"the", "be", "to", "of", "and", "that", "have", "with"};
  for (const auto& w : words) {
    chars += static_cast<double>(code_points(w));
    alpha += std::any_of(w.begin(), w.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }) ||
             w.find("é") != std::string::npos || w.find("中") != std::string::npos;
    std::string s = w;
    auto punct = [](char c) { return std::ispunct(static_cast<unsigned char>(c)) != 0; };
    while (!s.empty() && punct(s.front())) s.erase(s.begin());
    while (!s.empty() && punct(s.back())) s.pop_back();
    std::transform(s.begin(), s.end(), s.begin(), [](char c) { return (c >= 'A' && c <= 'Z') ? char(c + 32) : c; });
    stop += kStop.count(s) > 0;
  }
  double hashes = static_cast<double>(std::count(text.begin(), text.end(), '#')), ellipses = 0;
  for (std::size_t at = text.find("..."); at != std::string::npos; at = text.find("...", at + 3)) ellipses += 1;
  for (std::size_t at = text.find("…"); at != std::string::npos; at = text.find("…", at + 1)) ellipses += 1;
  row[0] = W;
  row[1] = frac(chars, W);
  row[2] = frac(hashes, W);
  row[3] = frac(ellipses, W);
  std::vector<std::string> lines, paragraphs;
  std::vector<std::string> raw = split(text, '\n'), para_raw;
  for (std::size_t k = 0; k <= raw.size(); ++k) {
    const bool blank = k == raw.size() || strip(raw[k]).empty();
    if (!blank) {
      lines.push_back(strip(raw[k]));
      para_raw.push_back(raw[k]);
      continue;
    }
    if (!para_raw.empty()) {
      std::string joined = para_raw[0];
      for (std::size_t q = 1; q < para_raw.size(); ++q) joined += "\n" + para_raw[q];
      paragraphs.push_back(strip(joined));
      para_raw.clear();
    }
  }
  double ell_lines = 0, bullets = 0;
  for (const auto& l : lines) {
    ell_lines += ends(l, "...") || ends(l, "…");
    bullets += starts(l, "-") || starts(l, "*") || starts(l, "•");
  }
  row[4] = frac(ell_lines, static_cast<double>(lines.size()));
  row[5] = frac(bullets, static_cast<double>(lines.size()));
  row[6] = frac(alpha, W);
  row[7] = stop;
  const auto dl = dup_units(lines), dp = dup_units(paragraphs);
  row[8] = dl[0], row[9] = dl[1], row[10] = dp[0], row[11] = dp[1];
  for (std::size_t n = 2; n <= 10; ++n) {
    if (words.size() < n) continue;
    std::map<std::vector<std::string>, std::vector<std::size_t>> at;
    for (std::size_t i = 0; i + n <= words.size(); ++i) at[{words.begin() + i, words.begin() + i + n}].push_back(i);
    auto covered = [&](const std::set<std::size_t>& starts_at) {
      std::set<std::size_t> word_set;
      for (auto i : starts_at)
        for (std::size_t k = i; k < i + n; ++k) word_set.insert(k);
      double c = 0;
      for (auto k : word_set) c += static_cast<double>(code_points(words[k]));
      return c;
    };
    if (n <= 4) {
      std::size_t most = 0;
      for (const auto& [g, pos] : at) most = std::max(most, pos.size());
      double best = 0;
      for (const auto& [g, pos] : at) {
        if (pos.size() == most) best = std::max(best, covered({pos.begin(), pos.end()}));
      }
      row[12 + n - 2] = frac(best, chars);
    } else {
      std::set<std::size_t> dup;
      for (const auto& [g, pos] : at) {
        if (pos.size() >= 2) dup.insert(pos.begin(), pos.end());
      }
      row[15 + n - 5] = frac(covered(dup), chars);
    }
  }
  return row;
}

std::string random_text(std::mt19937_64& rng) {
  static const std::vector<std::string> kWords{"the", "The,", "cat", "sat", "on", "mat", "of", "(and)", "é", "café",
                                              "中文", "123", "#tag", "...", "wait...", "…", "-", "*", "•", "x.y"};
  static const std::vector<std::string> kSeps{" ", " ", " ", " ", "  ", "\t", "\n", "\n\n", " \n \n", "\r\n"};
  std::string text;
  const int n = static_cast<int>(rng() % 60);
  std::vector<std::string> picked;
  for (int k = 0; k < n; ++k) {
    if (k > 4 && rng() % 5 == 0) {  // repeat a recent stretch so n-grams, lines and paragraphs repeat
      const auto len = 1 + rng() % 6;
      const auto from = picked.size() - std::min<std::size_t>(picked.size(), len + rng() % 4);
      for (std::size_t q = from; q < picked.size() && q < from + len; ++q) picked.push_back(picked[q]);
      continue;
    }
    picked.push_back(kWords[rng() % (rng() % 3 == 0 ? kWords.size() : 6)] + kSeps[rng() % kSeps.size()]);
  }
  for (const auto& p : picked) text += p;
  if (rng() % 2) text = " " + text;
  return text;
}

Row row_of(const mlforge::dedup::QualitySignals& q, std::size_t j) {
  return Row(q.values.begin() + static_cast<std::ptrdiff_t>(j * kQualitySignalCount),
             q.values.begin() + static_cast<std::ptrdiff_t>((j + 1) * kQualitySignalCount));
}

TEST(DedupQuality, RandomDocumentsMatchReference) {
  std::mt19937_64 rng(21);
  std::vector<std::string> texts;
  for (int k = 0; k < 400; ++k) texts.push_back(random_text(rng));
  texts.push_back("");
  const dedup_test::Batch batch(texts);
  const auto q = mlforge::dedup::quality_signals(batch.batch());
  ASSERT_EQ(q.values.size(), texts.size() * kQualitySignalCount);
  std::vector<int> nonzero(kQualitySignalCount, 0);
  for (std::size_t j = 0; j < texts.size(); ++j) {
    const Row got = row_of(q, j), want = reference(texts[j]);
    for (int c = 0; c < kQualitySignalCount; ++c) {
      ASSERT_DOUBLE_EQ(got[static_cast<std::size_t>(c)], want[static_cast<std::size_t>(c)])
          << mlforge::dedup::quality_signal_name(c) << " of document " << j << ": '" << texts[j] << "'";
      nonzero[static_cast<std::size_t>(c)] += want[static_cast<std::size_t>(c)] > 0;
    }
  }
  for (int c = 0; c < kQualitySignalCount; ++c) {
    EXPECT_GT(nonzero[static_cast<std::size_t>(c)], 10) << "signal " << mlforge::dedup::quality_signal_name(c) << " untested";
  }
}

TEST(DedupQuality, HandMadeValues) {
  const dedup_test::Batch batch({
      "the cat\nthe cat\n\n- item one...\n",  // 0
      "a b a b a b",                            // 1: top 2-gram "a b" x3 covers all; no 5-gram repeats
      "x x x x x x",                            // 2: 5-grams repeat (overlapping) -> every word
      "Para one.\n\nPara one.\n\nother",        // 3
  });
  const auto q = mlforge::dedup::quality_signals(batch.batch());
  Row r = row_of(q, 0);
  EXPECT_EQ(r[0], 7);                 // the cat the cat - item one...
  EXPECT_DOUBLE_EQ(r[1], 23.0 / 7);   // 3+3+3+3+1+4+6
  EXPECT_DOUBLE_EQ(r[3], 1.0 / 7);
  EXPECT_DOUBLE_EQ(r[4], 1.0 / 3);    // three counted lines, the blank one is not counted
  EXPECT_DOUBLE_EQ(r[5], 1.0 / 3);
  EXPECT_DOUBLE_EQ(r[6], 6.0 / 7);    // "-" has no letter
  EXPECT_EQ(r[7], 2);                 // "the" twice
  EXPECT_DOUBLE_EQ(r[8], 1.0 / 3);
  EXPECT_DOUBLE_EQ(r[9], 7.0 / 27);   // "the cat" of 7 + 7 + 13 code points
  EXPECT_DOUBLE_EQ(r[10], 0.0);       // paragraphs: "the cat\nthe cat" and "- item one..."
  r = row_of(q, 1);
  EXPECT_DOUBLE_EQ(r[12], 1.0);
  EXPECT_DOUBLE_EQ(r[13], 5.0 / 6);   // "a b a" at 0, 2 and "b a b" at 1, 3 tie; each covers 5 words
  EXPECT_DOUBLE_EQ(r[14], 1.0);       // "a b a b" at 0 and 2
  EXPECT_DOUBLE_EQ(r[15], 0.0);
  r = row_of(q, 2);
  EXPECT_DOUBLE_EQ(r[12], 1.0);
  EXPECT_DOUBLE_EQ(r[15], 1.0);
  EXPECT_DOUBLE_EQ(r[16], 0.0);       // the one 6-gram occurs once
  r = row_of(q, 3);
  EXPECT_DOUBLE_EQ(r[10], 1.0 / 3);
  EXPECT_DOUBLE_EQ(r[11], 9.0 / 23);
}

TEST(DedupQuality, UnicodeWhitespaceAndLetters) {
  // U+3000 and U+00A0 separate words (Python's str.split); U+2028 does not end a line.
  const dedup_test::Batch batch({"\xE4\xB8\xAD\xE3\x80\x80\xC3\xA9t\xC3\xA9\xC2\xA0" "123 \xE2\x80\xA8x"});
  const auto q = mlforge::dedup::quality_signals(batch.batch());
  const Row r = row_of(q, 0);
  EXPECT_EQ(r[0], 4);                // 中 | été | 123 | x  (U+2028 is whitespace too)
  EXPECT_DOUBLE_EQ(r[1], 8.0 / 4);   // code points (1 + 3 + 3 + 1), not bytes
  EXPECT_DOUBLE_EQ(r[6], 3.0 / 4);
  EXPECT_DOUBLE_EQ(r[4] + r[5] + r[8], 0.0);
}

TEST(DedupQuality, SignalNamesAndOrder) {
  EXPECT_STREQ(mlforge::dedup::quality_signal_name(0), "word_count");
  EXPECT_STREQ(mlforge::dedup::quality_signal_name(mlforge::dedup::kDup10GramCharFraction), "dup_10gram_char_fraction");
  EXPECT_EQ(kQualitySignalCount, 21);
  EXPECT_THROW(mlforge::dedup::quality_signal_name(kQualitySignalCount), mlforge::OutOfRange);
  EXPECT_THROW(mlforge::dedup::quality_signal_name(-1), mlforge::OutOfRange);
}

TEST(DedupQuality, InvalidUtf8IsAnErrorOrReplaced) {
  dedup_test::Batch batch({"fine", "bad \xFF byte"});
  auto b = batch.batch();
  try {
    mlforge::dedup::quality_signals(b);
    FAIL() << "expected InvalidArgument";
  } catch (const mlforge::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("document 1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("byte offset 4"), std::string::npos) << e.what();
  }
  b.replace_invalid = true;
  const auto q = mlforge::dedup::quality_signals(b);
  EXPECT_EQ(q.invalid_utf8, (std::vector<std::int64_t>{1}));
  EXPECT_EQ(row_of(q, 1)[0], 3);
}

TEST(DedupQuality, ResultsDoNotDependOnThreadCount) {
  std::mt19937_64 rng(4);
  std::vector<std::string> texts;
  for (int k = 0; k < 3000; ++k) texts.push_back(random_text(rng));
  const dedup_test::Batch batch(texts);
  const int saved = mlforge::num_threads();
  mlforge::set_num_threads(1);
  const auto one = mlforge::dedup::quality_signals(batch.batch());
  mlforge::set_num_threads(2);
  const auto two = mlforge::dedup::quality_signals(batch.batch());
  mlforge::set_num_threads(saved);
  EXPECT_EQ(one.values, two.values);
}

}  // namespace
