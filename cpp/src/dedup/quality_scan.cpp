// The quality signals' document scan (quality_scan.h).
#include "dedup/quality_scan.h"

#include <algorithm>

#include "dedup/hash.h"
#include "dedup/tokenizer.h"
#include "mlforge/error.h"

namespace mlforge::detail::dedup {
namespace {

#include "dedup/letter_table.inc"

std::uint64_t hash_bytes(std::string_view doc, std::int64_t begin, std::int64_t end) {
  ByteHasher h;
  for (std::int64_t i = begin; i < end; ++i) h.push(static_cast<std::uint8_t>(doc[static_cast<std::size_t>(i)]));
  return h.finish();
}

bool is_ascii_punct(char c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
}

// Gopher's stop words, after stripping ASCII punctuation from both ends and ASCII-lowercasing.
bool is_stop_word(std::string_view word) {
  while (!word.empty() && is_ascii_punct(word.front())) word.remove_prefix(1);
  while (!word.empty() && is_ascii_punct(word.back())) word.remove_suffix(1);
  if (word.empty() || word.size() > 4) return false;
  char lower[4];
  for (std::size_t k = 0; k < word.size(); ++k) {
    const char c = word[k];
    lower[k] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  }
  const std::string_view w(lower, word.size());
  return w == "the" || w == "be" || w == "to" || w == "of" || w == "and" || w == "that" || w == "have" || w == "with";
}

bool is_bullet(std::uint32_t cp) {
  return cp == '-' || cp == '*' || cp == 0x2022 || cp == 0x2023 || cp == 0x2043 || cp == 0x25AA || cp == 0x25CF ||
         cp == 0x25E6;
}

bool ends_with_ellipsis(std::string_view line) {
  const std::string_view dots = "...", ellipsis = "\xE2\x80\xA6";
  return (line.size() >= 3 && line.substr(line.size() - 3) == dots) ||
         (line.size() >= 3 && line.substr(line.size() - 3) == ellipsis);
}

}  // namespace

bool is_space(std::uint32_t cp) {
  if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F);
  if (cp < 0x85) return false;
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool is_letter(std::uint32_t cp) {
  if (cp < 128) return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
  const std::uint32_t* end = kLetterRangeFirst + kLetterRangeCount;
  const std::uint32_t* at = std::upper_bound(kLetterRangeFirst, end, cp);
  return at != kLetterRangeFirst && cp <= kLetterRangeLast[at - kLetterRangeFirst - 1];
}

void scan_document(std::string_view doc, std::int64_t doc_index, bool replace_invalid, bool* had_invalid,
                   ScannedDoc* out) {
  out->words.clear();
  out->lines.clear();
  out->paragraphs.clear();
  out->alpha_words = out->stop_words = out->bullet_lines = out->ellipsis_lines = out->hashes = out->ellipses = 0;
  const auto* text = reinterpret_cast<const unsigned char*>(doc.data());
  const auto size = static_cast<std::int64_t>(doc.size());

  std::int64_t cps = 0;  // code points before the current one
  // Current word: [word_begin, i) bytes, starting at code point word_cp.
  std::int64_t word_begin = -1, word_cp = 0;
  bool word_alpha = false;
  // Current line's first and last non-space code points: bytes [first, last_end), code points
  // [first_cp, last_end_cp).
  std::int64_t first = -1, first_cp = 0, last_end = 0, last_end_cp = 0;
  std::uint32_t first_char = 0;
  // Current paragraph: bytes [para_begin, para_end), code points [para_cp, para_end_cp).
  std::int64_t para_begin = -1, para_cp = 0, para_end = 0, para_end_cp = 0;
  int dot_run = 0;

  auto end_word = [&](std::int64_t end) {
    if (word_begin < 0) return;
    out->words.push_back({word_begin, end, cps - word_cp, hash_bytes(doc, word_begin, end)});
    out->alpha_words += word_alpha;
    out->stop_words += is_stop_word(doc.substr(static_cast<std::size_t>(word_begin), static_cast<std::size_t>(end - word_begin)));
    word_begin = -1;
  };
  auto end_paragraph = [&] {
    if (para_begin < 0) return;
    out->paragraphs.push_back({para_begin, para_end, para_end_cp - para_cp, hash_bytes(doc, para_begin, para_end)});
    para_begin = -1;
  };
  auto end_line = [&] {
    if (first < 0) {  // blank: not counted, and it ends the paragraph
      end_paragraph();
      return;
    }
    out->lines.push_back({first, last_end, last_end_cp - first_cp, hash_bytes(doc, first, last_end)});
    out->bullet_lines += is_bullet(first_char);
    out->ellipsis_lines +=
        ends_with_ellipsis(doc.substr(static_cast<std::size_t>(first), static_cast<std::size_t>(last_end - first)));
    if (para_begin < 0) para_begin = first, para_cp = first_cp;
    para_end = last_end, para_end_cp = last_end_cp;
    first = -1;
  };

  std::int64_t i = 0;
  while (i < size) {
    const std::int64_t at = i;
    bool bad = false;
    const std::uint32_t cp = decode_utf8(text, size, i, &bad);
    if (bad) {
      MLFORGE_CHECK(replace_invalid, InvalidArgument, "[dedup.quality] document ", doc_index,
                    " is not valid UTF-8 (byte offset ", at, ")");
      *had_invalid = true;
    }
    if (is_space(cp)) {
      end_word(at);
      if (cp == '\n') end_line();
    } else {
      if (word_begin < 0) word_begin = at, word_cp = cps, word_alpha = false;
      word_alpha = word_alpha || is_letter(cp);
      if (first < 0) first = at, first_cp = cps, first_char = cp;
      last_end = i, last_end_cp = cps + 1;
    }
    out->hashes += cp == '#';
    out->ellipses += cp == 0x2026;
    dot_run = cp == '.' ? dot_run + 1 : 0;
    if (dot_run == 3) ++out->ellipses, dot_run = 0;
    ++cps;
  }
  end_word(size);
  end_line();
  end_paragraph();
}

}  // namespace mlforge::detail::dedup
