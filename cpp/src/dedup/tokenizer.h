// The dedup tokenizer's inner loop: UTF-8 decoding, normalisation and token hashing in one pass
// over a document, calling visit(hash, begin, end) per token. Every dedup stage is built on it so
// they all agree on what a token is. Internal; see mlforge/dedup/text.h for the rules.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "dedup/hash.h"
#include "dedup/unicode.h"
#include "mlforge/dedup/text.h"
#include "mlforge/error.h"

namespace mlforge::detail::dedup {

using mlforge::dedup::TokenizerConfig;
using mlforge::dedup::TokenMode;

inline constexpr std::uint32_t kReplacement = 0xFFFD;

/// Decodes the code point at text[i], advancing i. Returns kReplacement and sets *bad for an
/// invalid sequence (overlong, surrogate, beyond U+10FFFF, truncated), consuming one byte.
inline std::uint32_t decode_utf8(const unsigned char* text, std::int64_t size, std::int64_t& i, bool* bad) {
  const unsigned c0 = text[i];
  if (c0 < 0x80) {
    ++i;
    return c0;
  }
  int length;
  std::uint32_t cp, minimum;
  if ((c0 & 0xE0) == 0xC0) {
    length = 2, cp = c0 & 0x1F, minimum = 0x80;
  } else if ((c0 & 0xF0) == 0xE0) {
    length = 3, cp = c0 & 0x0F, minimum = 0x800;
  } else if ((c0 & 0xF8) == 0xF0) {
    length = 4, cp = c0 & 0x07, minimum = 0x10000;
  } else {
    *bad = true;
    ++i;
    return kReplacement;
  }
  if (i + length > size) {
    *bad = true;
    ++i;
    return kReplacement;
  }
  for (int k = 1; k < length; ++k) {
    const unsigned c = text[i + k];
    if ((c & 0xC0) != 0x80) {
      *bad = true;
      ++i;
      return kReplacement;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  if (cp < minimum || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    *bad = true;
    ++i;
    return kReplacement;
  }
  i += length;
  return cp;
}

/// What an ASCII byte becomes under a config: 0 separates tokens, anything else is the normalised
/// byte appended to the current token. Digits and letters only depend on case and digit folding.
struct AsciiMap {
  unsigned char to[128];
};

inline const AsciiMap& ascii_map(const TokenizerConfig& config) {
  static const auto maps = [] {
    std::array<AsciiMap, 8> all{};
    for (int flags = 0; flags < 8; ++flags) {
      const bool fold_case = flags & 1, fold_digits = flags & 2, fold_punct = flags & 4;
      for (int c = 0; c < 128; ++c) {
        unsigned char out = static_cast<unsigned char>(c);
        switch (code_class(static_cast<std::uint32_t>(c))) {
          case CodeClass::kSpace:
            out = 0;
            break;
          case CodeClass::kPunct:
            if (fold_punct) out = 0;
            break;
          case CodeClass::kDigit:
            if (fold_digits) out = '0';
            break;
          default:
            if (fold_case) out = static_cast<unsigned char>(case_fold(static_cast<std::uint32_t>(c)));
        }
        all[static_cast<std::size_t>(flags)].to[c] = out;
      }
    }
    return all;
  }();
  return maps[static_cast<std::size_t>(config.case_fold | (config.fold_digits << 1) | (config.fold_punctuation << 2))];
}

/// Tokenises one document. With replace_invalid false, invalid UTF-8 throws InvalidArgument naming
/// doc_index and the byte offset; otherwise *had_invalid is set and bad bytes read as U+FFFD.
template <class Visit>
void for_each_token(std::string_view doc, std::int64_t doc_index, const TokenizerConfig& config,
                    bool replace_invalid, bool* had_invalid, Visit&& visit) {
  const auto* text = reinterpret_cast<const unsigned char*>(doc.data());
  const auto size = static_cast<std::int64_t>(doc.size());
  const bool words = config.mode == TokenMode::kWords;
  ByteHasher token;
  std::int64_t token_begin = 0, token_end = 0;
  auto flush = [&] {
    if (!token.empty()) {
      visit(token.finish(), token_begin, token_end);
      token.reset();
    }
  };
  const AsciiMap& ascii = ascii_map(config);
  std::int64_t i = 0;
  while (i < size) {
    const std::int64_t at = i;
    if (text[i] < 0x80 && words) {  // the common case: one table lookup per byte
      const unsigned char mapped = ascii.to[text[i]];
      ++i;
      if (mapped == 0) {
        flush();
        continue;
      }
      if (token.empty()) token_begin = at;
      token.push(mapped);
      token_end = i;
      continue;
    }
    bool bad = false;
    std::uint32_t cp = decode_utf8(text, size, i, &bad);
    if (bad) {
      MLFORGE_CHECK(replace_invalid, InvalidArgument, "[dedup.tokenize] document ", doc_index,
                    " is not valid UTF-8 (byte offset ", at, ")");
      *had_invalid = true;
    }
    CodeClass cls = code_class(cp);
    if (cls == CodeClass::kSpace || (cls == CodeClass::kPunct && config.fold_punctuation)) {
      flush();
      continue;
    }
    if (cls == CodeClass::kMark && config.strip_accents) {
      if (!token.empty()) token_end = i;  // a dropped accent still belongs to its letter's span
      continue;
    }
    if (cls == CodeClass::kDigit && config.fold_digits) cp = '0';
    if (config.case_fold) cp = case_fold(cp);
    if (config.strip_accents) {
      const std::uint32_t base = base_letter(cp);
      cp = config.case_fold ? case_fold(base) : base;
    }
    if (!words || cls == CodeClass::kNoSpace) {
      flush();
      token.push_utf8(cp);
      token_begin = at;
      token_end = i;
      flush();
      continue;
    }
    if (token.empty()) token_begin = at;
    token.push_utf8(cp);
    token_end = i;
  }
  flush();
}

}  // namespace mlforge::detail::dedup
