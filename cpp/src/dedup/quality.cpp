// Gopher-style quality signals (mlforge/dedup/quality.h): a scan per document, then duplicate
// units and n-gram repetition from sorted (hash, position) pairs.
#include "mlforge/dedup/quality.h"

#include <algorithm>
#include <utility>

#include "dedup/hash.h"
#include "dedup/quality_scan.h"
#include "mlforge/error.h"
#include "mlforge/parallel.h"

namespace mlforge::dedup {
namespace {

using detail::dedup::ScannedDoc;
using detail::dedup::TextUnit;
using Keyed = std::pair<std::uint64_t, std::int64_t>;  // (hash, position)

constexpr const char* kNames[kQualitySignalCount] = {
    "word_count",
    "mean_word_length",
    "hash_to_word_ratio",
    "ellipsis_to_word_ratio",
    "ellipsis_line_fraction",
    "bullet_line_fraction",
    "alpha_word_fraction",
    "stop_word_count",
    "dup_line_fraction",
    "dup_line_char_fraction",
    "dup_paragraph_fraction",
    "dup_paragraph_char_fraction",
    "top_2gram_char_fraction",
    "top_3gram_char_fraction",
    "top_4gram_char_fraction",
    "dup_5gram_char_fraction",
    "dup_6gram_char_fraction",
    "dup_7gram_char_fraction",
    "dup_8gram_char_fraction",
    "dup_9gram_char_fraction",
    "dup_10gram_char_fraction",
};

constexpr std::int64_t kDocGrain = 32;

double ratio(double part, double whole) { return whole > 0 ? part / whole : 0.0; }

// Per-thread buffers reused across the documents of a chunk.
struct Scratch {
  ScannedDoc doc;
  std::vector<Keyed> keyed;
  std::vector<std::uint64_t> grams;
  std::vector<std::int64_t> chars_before;  // prefix sums of word lengths
  std::vector<unsigned char> flagged, repeated;
};

// Units equal to an earlier unit: (count, code points).
std::pair<std::int64_t, std::int64_t> duplicates(const std::vector<TextUnit>& units, Scratch& s) {
  s.keyed.clear();
  for (std::size_t k = 0; k < units.size(); ++k) s.keyed.emplace_back(units[k].hash, static_cast<std::int64_t>(k));
  std::sort(s.keyed.begin(), s.keyed.end());
  std::int64_t count = 0, chars = 0;
  for (std::size_t k = 1; k < s.keyed.size(); ++k) {
    if (s.keyed[k].first != s.keyed[k - 1].first) continue;  // the first of each group is the original
    ++count;
    chars += units[static_cast<std::size_t>(s.keyed[k].second)].chars;
  }
  return {count, chars};
}

// Code points of the words covered by n-grams starting at `starts` (ascending), each word once.
template <class Starts>
std::int64_t covered_chars(const Starts& starts, std::int64_t n, const std::vector<std::int64_t>& chars_before) {
  std::int64_t reach = 0, covered = 0;
  for (const std::int64_t start : starts) {
    const std::int64_t from = std::max(start, reach);
    if (start + n > from) covered += chars_before[static_cast<std::size_t>(start + n)] - chars_before[static_cast<std::size_t>(from)];
    reach = std::max(reach, start + n);
  }
  return covered;
}

// Iterates the positions of one group of s.keyed ([first, last), sorted by position).
struct GroupPositions {
  const Keyed* first;
  const Keyed* last;
  struct Iter {
    const Keyed* at;
    std::int64_t operator*() const { return at->second; }
    Iter& operator++() {
      ++at;
      return *this;
    }
    bool operator!=(const Iter& o) const { return at != o.at; }
  };
  Iter begin() const { return {first}; }
  Iter end() const { return {last}; }
};

// Marks repeated[i] = 1 for every position of s.keyed whose hash occurs at least twice there.
// Returns the size of the largest group (0 when s.keyed is empty).
std::size_t mark_repeats(Scratch& s, std::vector<unsigned char>& repeated) {
  std::sort(s.keyed.begin(), s.keyed.end());
  std::size_t most = 0;
  for (std::size_t g = 0; g < s.keyed.size();) {
    std::size_t h = g;
    while (h < s.keyed.size() && s.keyed[h].first == s.keyed[g].first) ++h;
    most = std::max(most, h - g);
    if (h - g >= 2) {
      for (std::size_t k = g; k < h; ++k) repeated[static_cast<std::size_t>(s.keyed[k].second)] = 1;
    }
    g = h;
  }
  return most;
}

// Fills the top-n-gram (n = 2..4) and duplicated-n-gram (n = 5..10) columns. An n-gram can only
// repeat where the (n-1)-grams at i and i + 1 both repeat, so each n sorts only those candidate
// positions (few in natural text) instead of every position.
void ngram_signals(Scratch& s, double* row) {
  const std::vector<TextUnit>& words = s.doc.words;
  const auto W = static_cast<std::int64_t>(words.size());
  const auto at = [](std::int64_t i) { return static_cast<std::size_t>(i); };
  s.chars_before.assign(1, 0);
  for (const TextUnit& w : words) s.chars_before.push_back(s.chars_before.back() + w.chars);
  const double total = static_cast<double>(s.chars_before.back());
  // grams[i] is the hash of words [i, i + n), one word folded in per n. The fold starts from a
  // key, not from the first word, so it is order-dependent ("a b" != "b a").
  auto fold = [](std::uint64_t state, std::uint64_t value) {
    return detail::dedup::rotl64((state ^ value) * detail::dedup::kMul1, 29) * detail::dedup::kMul2;
  };
  s.grams.resize(words.size());
  s.keyed.clear();
  for (std::size_t k = 0; k < words.size(); ++k) {
    s.grams[k] = fold(0x082EFA98EC4E6C89ULL, words[k].hash);
    s.keyed.emplace_back(s.grams[k], static_cast<std::int64_t>(k));
  }
  s.repeated.assign(words.size(), 0);
  mark_repeats(s, s.repeated);  // words that occur twice
  for (std::int64_t n = 2; n <= 10 && W >= n; ++n) {
    s.keyed.clear();
    for (std::int64_t i = 0; i + n <= W; ++i) {
      s.grams[at(i)] = fold(s.grams[at(i)], words[at(i + n - 1)].hash);
      if (s.repeated[at(i)] && s.repeated[at(i + 1)]) s.keyed.emplace_back(s.grams[at(i)], i);
    }
    s.flagged.assign(words.size(), 0);
    const std::size_t most = mark_repeats(s, s.flagged);
    s.repeated.swap(s.flagged);  // repeated: n-grams that occur twice, for the next n
    if (n <= 4) {
      std::int64_t best = 0;
      if (most >= 2) {
        for (std::size_t g = 0; g < s.keyed.size();) {
          std::size_t h = g;
          while (h < s.keyed.size() && s.keyed[h].first == s.keyed[g].first) ++h;
          if (h - g == most) {
            best = std::max(best, covered_chars(GroupPositions{s.keyed.data() + g, s.keyed.data() + h}, n, s.chars_before));
          }
          g = h;
        }
      } else {  // every n-gram occurs once: the longest one
        for (std::int64_t i = 0; i + n <= W; ++i) best = std::max(best, s.chars_before[at(i + n)] - s.chars_before[at(i)]);
      }
      row[kTop2GramCharFraction + n - 2] = ratio(static_cast<double>(best), total);
    } else {
      // Starts ascend, so each occurrence adds only the words past the previous reach.
      std::int64_t reach = 0, covered = 0;
      for (std::int64_t i = 0; i + n <= W; ++i) {
        if (!s.repeated[at(i)]) continue;
        const std::int64_t from = std::max(i, reach);
        covered += s.chars_before[at(i + n)] - s.chars_before[at(from)];
        reach = i + n;
      }
      row[kDup5GramCharFraction + n - 5] = ratio(static_cast<double>(covered), total);
    }
  }
}

void document_signals(std::string_view text, std::int64_t j, bool replace_invalid, bool* invalid, Scratch& s,
                      double* row) {
  std::fill(row, row + kQualitySignalCount, 0.0);
  detail::dedup::scan_document(text, j, replace_invalid, invalid, &s.doc);
  const ScannedDoc& d = s.doc;
  const auto words = static_cast<double>(d.words.size());
  std::int64_t word_chars = 0;
  for (const TextUnit& w : d.words) word_chars += w.chars;
  row[kWordCount] = words;
  row[kMeanWordLength] = ratio(static_cast<double>(word_chars), words);
  row[kHashToWordRatio] = ratio(static_cast<double>(d.hashes), words);
  row[kEllipsisToWordRatio] = ratio(static_cast<double>(d.ellipses), words);
  const auto lines = static_cast<double>(d.lines.size());
  row[kEllipsisLineFraction] = ratio(static_cast<double>(d.ellipsis_lines), lines);
  row[kBulletLineFraction] = ratio(static_cast<double>(d.bullet_lines), lines);
  row[kAlphaWordFraction] = ratio(static_cast<double>(d.alpha_words), words);
  row[kStopWordCount] = static_cast<double>(d.stop_words);
  auto unit_fractions = [&](const std::vector<TextUnit>& units, double* count_out, double* chars_out) {
    std::int64_t all_chars = 0;
    for (const TextUnit& u : units) all_chars += u.chars;
    const auto [count, chars] = duplicates(units, s);
    *count_out = ratio(static_cast<double>(count), static_cast<double>(units.size()));
    *chars_out = ratio(static_cast<double>(chars), static_cast<double>(all_chars));
  };
  unit_fractions(d.lines, &row[kDupLineFraction], &row[kDupLineCharFraction]);
  unit_fractions(d.paragraphs, &row[kDupParagraphFraction], &row[kDupParagraphCharFraction]);
  ngram_signals(s, row);
}

}  // namespace

const char* quality_signal_name(std::int32_t signal) {
  MLFORGE_CHECK(signal >= 0 && signal < kQualitySignalCount, OutOfRange, "[dedup.quality_signal_name] signal ", signal,
                " is not in [0, ", static_cast<int>(kQualitySignalCount), ")");
  return kNames[signal];
}

QualitySignals quality_signals(const TextBatch& batch) {
  MLFORGE_CHECK(batch.count >= 0 && (batch.count == 0 || batch.docs != nullptr), InvalidArgument,
                "[dedup.quality] batch of ", batch.count, " documents without data");
  QualitySignals out;
  const auto n = static_cast<std::size_t>(batch.count);
  out.values.resize(n * kQualitySignalCount);
  std::vector<unsigned char> invalid(n, 0);
  parallel_for(0, batch.count, kDocGrain, [&](std::int64_t lo, std::int64_t hi) {
    Scratch scratch;
    for (std::int64_t j = lo; j < hi; ++j) {
      bool had_invalid = false;
      document_signals(batch.docs[j], j, batch.replace_invalid, &had_invalid, scratch,
                       out.values.data() + static_cast<std::size_t>(j) * kQualitySignalCount);
      invalid[static_cast<std::size_t>(j)] = had_invalid;
    }
  });
  for (std::size_t j = 0; j < n; ++j) {
    if (invalid[j]) out.invalid_utf8.push_back(static_cast<std::int64_t>(j));
  }
  return out;
}

}  // namespace mlforge::dedup
