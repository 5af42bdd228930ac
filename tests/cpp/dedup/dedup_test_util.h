// Helpers for the dedup tests: synthetic token batches and word texts.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "mlforge/dedup/text.h"

namespace dedup_test {

// A Tokens batch from per-document symbol lists; token k of a document spans bytes [4k, 4k + 3).
inline mlforge::dedup::Tokens make_tokens(const std::vector<std::vector<std::uint64_t>>& docs) {
  mlforge::dedup::Tokens t;
  t.doc_offsets.push_back(0);
  for (const auto& doc : docs) {
    for (std::size_t k = 0; k < doc.size(); ++k) {
      t.hashes.push_back(doc[k]);
      t.begin.push_back(static_cast<std::int64_t>(4 * k));
      t.end.push_back(static_cast<std::int64_t>(4 * k + 3));
    }
    t.doc_offsets.push_back(static_cast<std::int64_t>(t.hashes.size()));
  }
  return t;
}

// Random documents over a small alphabet, so repeats are common.
inline std::vector<std::vector<std::uint64_t>> random_docs(std::mt19937_64& rng, int docs, int max_len, int alphabet) {
  std::vector<std::vector<std::uint64_t>> out(static_cast<std::size_t>(docs));
  for (auto& doc : out) {
    const auto len = static_cast<int>(rng() % static_cast<std::uint64_t>(max_len + 1));
    for (int k = 0; k < len; ++k) doc.push_back(1000 + rng() % static_cast<std::uint64_t>(alphabet));
  }
  return out;
}

// A word made of letters only (words-v1 folds digits, so "w1" and "w2" would be one token).
inline std::string word(std::uint64_t id) {
  std::string w = "q";
  do {
    w += static_cast<char>('a' + id % 26);
    id /= 26;
  } while (id > 0);
  return w;
}

// Joins words with single spaces.
inline std::string join_words(const std::vector<std::uint64_t>& ids) {
  std::string text;
  for (std::size_t k = 0; k < ids.size(); ++k) {
    if (k) text += ' ';
    text += word(ids[k]);
  }
  return text;
}

// Views of a list of owned strings, as a TextBatch wants them.
struct Batch {
  explicit Batch(std::vector<std::string> texts) : owned(std::move(texts)) {
    for (const auto& s : owned) views.emplace_back(s);
  }
  mlforge::dedup::TextBatch batch() const {
    mlforge::dedup::TextBatch b;
    b.docs = views.data();
    b.count = static_cast<std::int64_t>(views.size());
    return b;
  }
  std::vector<std::string> owned;
  std::vector<std::string_view> views;
};

// Byte offset where word k of a single-space-joined text starts.
inline std::int64_t word_offset(const std::vector<std::uint64_t>& ids, std::size_t k) {
  std::int64_t at = 0;
  for (std::size_t i = 0; i < k; ++i) at += static_cast<std::int64_t>(word(ids[i]).size()) + 1;
  return at;
}

}  // namespace dedup_test
