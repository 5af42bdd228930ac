// Code point classes and mappings for the dedup tokenizer (tables in unicode_tables.inc). Internal.
#pragma once

#include <cstdint>

namespace mlforge::detail::dedup {

/// Must match the numbering in tools/gen_unicode_tables.py.
enum class CodeClass : std::uint8_t { kWord = 0, kSpace = 1, kPunct = 2, kNoSpace = 3, kDigit = 4, kMark = 5 };

CodeClass non_ascii_class(std::uint32_t cp);
std::uint32_t non_ascii_case_fold(std::uint32_t cp);
std::uint32_t non_ascii_base_letter(std::uint32_t cp);

/// ASCII classes by byte: a direct table keeps the common case free of searches.
extern const CodeClass kAsciiClass[128];

inline CodeClass code_class(std::uint32_t cp) { return cp < 128 ? kAsciiClass[cp] : non_ascii_class(cp); }
inline std::uint32_t case_fold(std::uint32_t cp) {
  if (cp < 128) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  return non_ascii_case_fold(cp);
}
inline std::uint32_t base_letter(std::uint32_t cp) { return cp < 128 ? cp : non_ascii_base_letter(cp); }

}  // namespace mlforge::detail::dedup
