// Table lookups behind unicode.h: binary searches over the generated sorted tables.
#include "dedup/unicode.h"

#include <algorithm>
#include <cstdint>

namespace mlforge::detail::dedup {
namespace {

#include "dedup/unicode_tables.inc"

std::uint32_t lookup(const std::uint32_t* from, const std::uint32_t* to, int count, std::uint32_t cp) {
  const std::uint32_t* end = from + count;
  const std::uint32_t* at = std::lower_bound(from, end, cp);
  return (at != end && *at == cp) ? to[at - from] : cp;
}

constexpr CodeClass ascii_class(int c) {
  if (c <= 32 || c == 127) return CodeClass::kSpace;  // C0 controls, space and DEL
  if (c >= '0' && c <= '9') return CodeClass::kDigit;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return CodeClass::kWord;
  return CodeClass::kPunct;  // every other printable ASCII character is P* or S*
}

}  // namespace

const CodeClass kAsciiClass[128] = {
#define MLFORGE_ROW(base)                                                                              \
  ascii_class(base + 0), ascii_class(base + 1), ascii_class(base + 2), ascii_class(base + 3),          \
      ascii_class(base + 4), ascii_class(base + 5), ascii_class(base + 6), ascii_class(base + 7),      \
      ascii_class(base + 8), ascii_class(base + 9), ascii_class(base + 10), ascii_class(base + 11),    \
      ascii_class(base + 12), ascii_class(base + 13), ascii_class(base + 14), ascii_class(base + 15)
    MLFORGE_ROW(0),  MLFORGE_ROW(16), MLFORGE_ROW(32), MLFORGE_ROW(48),
    MLFORGE_ROW(64), MLFORGE_ROW(80), MLFORGE_ROW(96), MLFORGE_ROW(112),
#undef MLFORGE_ROW
};

CodeClass non_ascii_class(std::uint32_t cp) {
  const std::uint32_t* end = kClassRangeStart + kClassRangeCount;
  const std::uint32_t* at = std::upper_bound(kClassRangeStart, end, cp) - 1;  // kClassRangeStart[0] == 0
  return static_cast<CodeClass>(kClassRangeClass[at - kClassRangeStart]);
}

std::uint32_t non_ascii_case_fold(std::uint32_t cp) { return lookup(kCaseFoldFrom, kCaseFoldTo, kCaseFoldCount, cp); }

std::uint32_t non_ascii_base_letter(std::uint32_t cp) {
  return lookup(kBaseLetterFrom, kBaseLetterTo, kBaseLetterCount, cp);
}

}  // namespace mlforge::detail::dedup
