// Gopher-style document quality signals (Rae et al. 2021, "Scaling Language Models", App. A.1.1;
// the peer implementation is datatrove's GopherQualityFilter / GopherRepetitionFilter), computed
// in one pass per document over the raw UTF-8 text. Signals only: thresholds are the caller's.
//
// Output: QualitySignals::values, float64, row-major [count, kQualitySignalCount]; row j is
// document j, columns in the QualitySignal order below (quality_signal_name() gives the names).
//
// Units (all lengths are in Unicode code points; whitespace is exactly what Python's
// str.isspace() accepts: U+0009-000D, U+001C-001F, U+0020, U+0085, U+00A0, U+1680, U+2000-200A,
// U+2028, U+2029, U+202F, U+205F, U+3000):
//  - words: maximal runs of non-whitespace code points (Python's text.split()); W words with
//    C = total code points of all words;
//  - lines: the text split at '\n', each stripped of leading/trailing whitespace; lines that are
//    empty after stripping are not counted (neither as lines nor in any line fraction);
//  - paragraphs: maximal runs of consecutive counted lines; a paragraph's text runs from its
//    first line's first non-whitespace code point to its last line's last one ("\n".join of the
//    raw lines, stripped);
//  - n-grams: word n-grams at every start 0 .. W - n; two n-grams are equal when their words are.
// Signals (a fraction whose denominator is 0 is 0):
//   kWordCount           W
//   kMeanWordLength      C / W
//   kHashToWordRatio     occurrences of '#' / W
//   kEllipsisToWordRatio (non-overlapping occurrences of "..." scanning left to right, as Python's
//                        str.count, plus occurrences of U+2026 '…') / W
//   kEllipsisLineFraction lines ending with "..." or '…' / lines
//   kBulletLineFraction  lines starting with a bullet ('-', '*', U+2022 '•', U+2023 '‣', U+2043 '⁃',
//                        U+25AA '▪', U+25CF '●', U+25E6 '◦') / lines
//   kAlphaWordFraction   words holding at least one letter (Unicode general category L*, Python's
//                        str.isalpha(); Unicode 14.0) / W
//   kStopWordCount       words that, stripped of leading/trailing ASCII punctuation
//                        (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~) and ASCII-lowercased, are one of
//                        the, be, to, of, and, that, have, with
//   kDupLineFraction     lines equal to an earlier line / lines
//   kDupLineCharFraction code points of those lines / code points of all lines
//   kDupParagraphFraction, kDupParagraphCharFraction  the same for paragraphs
//   kTop{2,3,4}GramCharFraction  the most frequent n-gram: code points of the words covered by its
//                        occurrences (a word counted once even when occurrences overlap) / C; when
//                        several n-grams share the highest count, the largest such value; 0 when W < n
//   kDup{5..10}GramCharFraction  code points of the words covered by any occurrence of an n-gram
//                        that occurs at least twice (every copy, the first included; a word
//                        counted once) / C
// Differences from datatrove, on purpose: lines, paragraphs and n-grams are measured against their
// own units (so a document that is one paragraph repeated scores exactly 1.0 for duplicated
// n-grams), overlapping n-gram occurrences never count a word twice, and every copy of a
// duplicated n-gram counts (Gopher's "all duplicate n-grams").
// Equality of words, lines, paragraphs and n-grams is tested on 64-bit hashes of their exact
// bytes (a false match has probability about 2^-64 per pair).
//
// Documents are processed in parallel in fixed chunks; results never depend on the thread count.
// Ownership: the batch is borrowed for the call; the result owns its memory. Reentrant; blocks.
// Errors: InvalidArgument for invalid UTF-8 (naming the document and byte offset) unless
// TextBatch::replace_invalid is set, in which case each invalid byte reads as one U+FFFD.
#pragma once

#include <cstdint>
#include <vector>

#include "mlforge/api.h"
#include "mlforge/dedup/text.h"

namespace mlforge {
namespace dedup {

enum QualitySignal : std::int32_t {
  kWordCount = 0,
  kMeanWordLength,
  kHashToWordRatio,
  kEllipsisToWordRatio,
  kEllipsisLineFraction,
  kBulletLineFraction,
  kAlphaWordFraction,
  kStopWordCount,
  kDupLineFraction,
  kDupLineCharFraction,
  kDupParagraphFraction,
  kDupParagraphCharFraction,
  kTop2GramCharFraction,
  kTop3GramCharFraction,
  kTop4GramCharFraction,
  kDup5GramCharFraction,
  kDup6GramCharFraction,
  kDup7GramCharFraction,
  kDup8GramCharFraction,
  kDup9GramCharFraction,
  kDup10GramCharFraction,
  kQualitySignalCount
};

/// snake_case name of a signal ("word_count", ..., "dup_10gram_char_fraction"); OutOfRange
/// outside [0, kQualitySignalCount).
MLFORGE_API const char* quality_signal_name(std::int32_t signal);

struct QualitySignals {
  std::vector<double> values;              // [count, kQualitySignalCount], row-major
  std::vector<std::int64_t> invalid_utf8;  // documents whose invalid bytes were replaced
};

MLFORGE_API QualitySignals quality_signals(const TextBatch& batch);

}  // namespace dedup
}  // namespace mlforge
