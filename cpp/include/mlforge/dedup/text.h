// Text normalisation and tokenisation for deduplication, and exact fingerprints.
//
// Documents are UTF-8 byte strings passed as views (TextBatch); the engine never copies or owns them,
// and the caller keeps them alive for the duration of a call. Every function here processes a batch
// in one call, in parallel over documents (mlforge/parallel.h), with results independent of the
// thread count.
//
// Normalisation is a named, versioned configuration (TokenizerConfig::name(), e.g. "words-v1"):
// the same name always gives the same tokens, so signatures and indexes store it and refuse to mix.
// Normalisation is applied code point by code point while tokenising:
//  - case folding (Unicode simple case folding, the C+S entries of CaseFolding.txt),
//  - accent stripping (a letter with a canonical decomposition becomes its base letter),
//  - digit folding (every decimal digit, any script, becomes '0'),
//  - punctuation/symbol folding (categories P* and S* become separators),
//  - whitespace (categories Z*, and the C0 controls) always separates tokens.
// Word mode yields maximal runs of non-separator code points, except that ideographs, kana, Hangul
// syllables and Thai (scripts written without spaces) yield one token per code point. Character
// mode yields every non-separator code point as a token (for character n-gram shingles).
//
// Token hashes are 64-bit hashes of the token's normalised UTF-8 bytes (seedless, stable across
// releases for a given config version). Each token also records its byte span in the original text.
//
// Errors: InvalidArgument for invalid UTF-8 (naming the document and byte offset) unless
// TextBatch::replace_invalid is set, in which case each bad byte reads as U+FFFD and the document is
// reported in Tokens::invalid_utf8.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mlforge/api.h"

namespace mlforge {
namespace dedup {

/// A batch of UTF-8 documents: docs[0 .. count) are views into caller-owned memory.
struct TextBatch {
  const std::string_view* docs = nullptr;
  std::int64_t count = 0;
  bool replace_invalid = false;  // true: invalid bytes read as U+FFFD instead of throwing
};

enum class TokenMode : std::int32_t { kWords = 0, kChars = 1 };

/// How text is normalised and split. Only the named presets are versioned; see parse_tokenizer().
struct TokenizerConfig {
  TokenMode mode = TokenMode::kWords;
  bool case_fold = true;
  bool strip_accents = false;
  bool fold_digits = true;
  bool fold_punctuation = true;
  /// "words-v1" / "chars-v1" style name (mode and flags), stored with signatures and indexes.
  MLFORGE_API std::string name() const;
};

/// Parses a config name: "words-v1" (defaults above), "chars-v1" (character mode), optionally
/// followed by "+accents" (strip accents), "-casefold", "-digits", "-punct" to change one flag,
/// e.g. "words-v1+accents-digits". Throws InvalidArgument for an unknown name or version.
MLFORGE_API TokenizerConfig parse_tokenizer(std::string_view name);

/// Tokens of a batch, ragged: document j owns tokens [doc_offsets[j], doc_offsets[j + 1]).
struct Tokens {
  std::vector<std::uint64_t> hashes;      // 64-bit hash of each normalised token
  std::vector<std::int64_t> begin, end;   // byte span of each token in its original document
  std::vector<std::int64_t> doc_offsets;  // count + 1 entries
  std::vector<std::int64_t> invalid_utf8; // indices of documents with replaced bytes
};

/// Tokenises every document of the batch.
MLFORGE_API Tokens tokenize(const TextBatch& batch, const TokenizerConfig& config);

/// Granularity of exact fingerprints.
enum class ExactLevel : std::int32_t { kDocument = 0, kParagraph = 1, kLine = 2 };

/// 128-bit fingerprints of normalised text (the token stream, so "Hello,  World" and "hello world"
/// agree under words-v1). Document level: one fingerprint per document. Paragraph level (blocks
/// separated by a blank line) and line level: one per non-empty unit, with its byte span.
struct Fingerprints {
  std::vector<std::uint64_t> lo, hi;      // the two halves of each fingerprint
  std::vector<std::int64_t> begin, end;   // byte span of each unit in its document
  std::vector<std::int64_t> doc_offsets;  // count + 1 entries: document j owns units [o[j], o[j+1])
  std::vector<std::int64_t> invalid_utf8;
};

/// A document (or unit) with no tokens gets the fingerprint of the empty stream; document level
/// still returns exactly one fingerprint per document.
MLFORGE_API Fingerprints exact_fingerprints(const TextBatch& batch, const TokenizerConfig& config,
                                            ExactLevel level);

}  // namespace dedup
}  // namespace mlforge
