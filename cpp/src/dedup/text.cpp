// Tokenizer configurations, batch tokenisation and exact fingerprints (mlforge/dedup/text.h).
#include <string>
#include <utility>

#include "dedup/tokenizer.h"
#include "mlforge/dedup/text.h"
#include "mlforge/parallel.h"

namespace mlforge::dedup {
namespace {

using detail::dedup::for_each_token;
using detail::dedup::SequenceHasher;

constexpr std::int64_t kDocGrain = 64;

// The modifiers a config name may carry after its base ("words-v1"), with the flag each sets.
struct Modifier {
  const char* text;
  bool TokenizerConfig::*flag;
  bool value;
};
constexpr Modifier kModifiers[] = {{"+accents", &TokenizerConfig::strip_accents, true},
                                   {"-casefold", &TokenizerConfig::case_fold, false},
                                   {"-digits", &TokenizerConfig::fold_digits, false},
                                   {"-punct", &TokenizerConfig::fold_punctuation, false}};

// Runs body(j, had_invalid) over documents in deterministic chunks and gathers the invalid ones.
template <class Body>
std::vector<std::int64_t> for_each_document(const TextBatch& batch, Body&& body) {
  MLFORGE_CHECK(batch.count >= 0 && (batch.count == 0 || batch.docs != nullptr), InvalidArgument,
                "[dedup] batch of ", batch.count, " documents without data");
  std::vector<unsigned char> invalid(static_cast<std::size_t>(batch.count), 0);
  parallel_for(0, batch.count, kDocGrain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t j = lo; j < hi; ++j) {
      bool had_invalid = false;
      body(j, &had_invalid);
      invalid[static_cast<std::size_t>(j)] = had_invalid;
    }
  });
  std::vector<std::int64_t> indices;
  for (std::int64_t j = 0; j < batch.count; ++j) {
    if (invalid[static_cast<std::size_t>(j)]) indices.push_back(j);
  }
  return indices;
}

// Prefix sums of per-document counts into offsets (count + 1 entries).
std::vector<std::int64_t> offsets_from_counts(const std::vector<std::int64_t>& counts) {
  std::vector<std::int64_t> offsets(counts.size() + 1, 0);
  for (std::size_t j = 0; j < counts.size(); ++j) offsets[j + 1] = offsets[j] + counts[j];
  return offsets;
}

// Units of a document for exact fingerprints: [begin, end) byte ranges split at '\n' (lines) or
// at lines holding only whitespace (paragraphs); the document level has one unit.
std::vector<std::pair<std::int64_t, std::int64_t>> units_of(std::string_view doc, ExactLevel level) {
  const auto size = static_cast<std::int64_t>(doc.size());
  std::vector<std::pair<std::int64_t, std::int64_t>> units;
  if (level == ExactLevel::kDocument) {
    units.emplace_back(0, size);
    return units;
  }
  std::int64_t unit_begin = 0, line_begin = 0;
  bool line_blank = true;
  for (std::int64_t i = 0; i <= size; ++i) {
    const bool end_of_line = i == size || doc[static_cast<std::size_t>(i)] == '\n';
    if (!end_of_line) {
      const char c = doc[static_cast<std::size_t>(i)];
      if (!(c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v')) line_blank = false;
      continue;
    }
    if (level == ExactLevel::kLine) {
      units.emplace_back(line_begin, i);
    } else if (line_blank || i == size) {
      units.emplace_back(unit_begin, i);
      unit_begin = i + 1;
    }
    line_begin = i + 1;
    line_blank = true;
  }
  return units;
}

}  // namespace

std::string TokenizerConfig::name() const {
  std::string text = mode == TokenMode::kWords ? "words-v1" : "chars-v1";
  const TokenizerConfig defaults;
  for (const Modifier& m : kModifiers) {
    if (this->*m.flag != defaults.*m.flag) text += m.text;
  }
  return text;
}

TokenizerConfig parse_tokenizer(std::string_view name) {
  TokenizerConfig config;
  std::string_view rest;
  if (name.substr(0, 8) == "words-v1") {
    config.mode = TokenMode::kWords;
  } else if (name.substr(0, 8) == "chars-v1") {
    config.mode = TokenMode::kChars;
  } else {
    throw InvalidArgument("[dedup.tokenizer] unknown tokenizer '" + std::string(name) +
                          "' (expected words-v1 or chars-v1, optionally with +accents, -casefold, -digits, -punct)");
  }
  rest = name.substr(8);
  while (!rest.empty()) {
    bool matched = false;
    for (const Modifier& m : kModifiers) {
      const std::string_view text(m.text);
      if (rest.substr(0, text.size()) == text) {
        config.*m.flag = m.value;
        rest.remove_prefix(text.size());
        matched = true;
        break;
      }
    }
    MLFORGE_CHECK(matched, InvalidArgument, "[dedup.tokenizer] unknown modifier '", std::string(rest), "' in tokenizer '",
                  std::string(name), "'");
  }
  return config;
}

Tokens tokenize(const TextBatch& batch, const TokenizerConfig& config) {
  const auto n = static_cast<std::size_t>(std::max<std::int64_t>(batch.count, 0));
  // Two passes: count, then write in place, so the output is one allocation per column.
  std::vector<std::int64_t> counts(n, 0);
  Tokens out;
  out.invalid_utf8 = for_each_document(batch, [&](std::int64_t j, bool* invalid) {
    std::int64_t count = 0;
    for_each_token(batch.docs[j], j, config, batch.replace_invalid, invalid,
                   [&](std::uint64_t, std::int64_t, std::int64_t) { ++count; });
    counts[static_cast<std::size_t>(j)] = count;
  });
  out.doc_offsets = offsets_from_counts(counts);
  const auto total = static_cast<std::size_t>(out.doc_offsets.back());
  out.hashes.resize(total);
  out.begin.resize(total);
  out.end.resize(total);
  for_each_document(batch, [&](std::int64_t j, bool* invalid) {
    auto at = static_cast<std::size_t>(out.doc_offsets[static_cast<std::size_t>(j)]);
    for_each_token(batch.docs[j], j, config, true, invalid, [&](std::uint64_t hash, std::int64_t b, std::int64_t e) {
      out.hashes[at] = hash;
      out.begin[at] = b;
      out.end[at] = e;
      ++at;
    });
  });
  return out;
}

Fingerprints exact_fingerprints(const TextBatch& batch, const TokenizerConfig& config, ExactLevel level) {
  const auto n = static_cast<std::size_t>(std::max<std::int64_t>(batch.count, 0));
  MLFORGE_CHECK(level == ExactLevel::kDocument || level == ExactLevel::kParagraph || level == ExactLevel::kLine,
                InvalidArgument, "[dedup.exact_fingerprints] unknown level ", static_cast<int>(level));
  struct Unit {
    std::uint64_t lo, hi;
    std::int64_t begin, end;
  };
  std::vector<std::vector<Unit>> per_doc(n);
  Fingerprints out;
  out.invalid_utf8 = for_each_document(batch, [&](std::int64_t j, bool* invalid) {
    const std::string_view doc = batch.docs[j];
    const auto units = units_of(doc, level);
    auto& result = per_doc[static_cast<std::size_t>(j)];
    for (const auto& [begin, end] : units) {
      // Two independently keyed sequence hashes of the tokens make the 128 bits.
      SequenceHasher lo(0x452821E638D01377ULL), hi(0xBE5466CF34E90C6CULL);
      bool any = false;
      for_each_token(doc.substr(static_cast<std::size_t>(begin), static_cast<std::size_t>(end - begin)), j, config,
                     batch.replace_invalid, invalid, [&](std::uint64_t hash, std::int64_t, std::int64_t) {
                       lo.push(hash);
                       hi.push(hash);
                       any = true;
                     });
      if (any || level == ExactLevel::kDocument) result.push_back({lo.finish(), hi.finish(), begin, end});
    }
  });
  std::vector<std::int64_t> counts(n);
  for (std::size_t j = 0; j < n; ++j) counts[j] = static_cast<std::int64_t>(per_doc[j].size());
  out.doc_offsets = offsets_from_counts(counts);
  for (const auto& units : per_doc) {
    for (const Unit& u : units) {
      out.lo.push_back(u.lo);
      out.hi.push_back(u.hi);
      out.begin.push_back(u.begin);
      out.end.push_back(u.end);
    }
  }
  return out;
}

}  // namespace mlforge::dedup
