// One forward pass over a document for the quality signals: words, counted lines and paragraphs
// with their byte ranges, code-point lengths and hashes, plus the per-character counts.
// Internal; the definitions are in mlforge/dedup/quality.h.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace mlforge::detail::dedup {

struct TextUnit {
  std::int64_t begin, end;  // bytes
  std::int64_t chars;       // code points
  std::uint64_t hash;       // of the bytes
};

struct ScannedDoc {
  std::vector<TextUnit> words, lines, paragraphs;
  std::int64_t alpha_words = 0, stop_words = 0;
  std::int64_t bullet_lines = 0, ellipsis_lines = 0;
  std::int64_t hashes = 0, ellipses = 0;
};

/// Python's str.isspace() for one code point.
bool is_space(std::uint32_t cp);

/// Python's str.isalpha() for one code point (Unicode general category L*).
bool is_letter(std::uint32_t cp);

/// Scans `doc` into `out` (cleared first). Invalid UTF-8 throws InvalidArgument naming
/// doc_index unless replace_invalid, in which case *had_invalid is set.
void scan_document(std::string_view doc, std::int64_t doc_index, bool replace_invalid, bool* had_invalid,
                   ScannedDoc* out);

}  // namespace mlforge::detail::dedup
