// Tokenizer and exact fingerprints: spans, normalisation rules, invalid UTF-8, determinism.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mlforge/dedup.h"
#include "mlforge/error.h"
#include "mlforge/parallel.h"

namespace {

using namespace mlforge::dedup;

Tokens tokens_of(const std::vector<std::string>& docs, const std::string& tokenizer = "words-v1",
                 bool replace_invalid = false) {
  std::vector<std::string_view> views(docs.begin(), docs.end());
  return tokenize({views.data(), static_cast<std::int64_t>(views.size()), replace_invalid}, parse_tokenizer(tokenizer));
}

std::vector<std::string> spans(const std::string& doc, const Tokens& t) {
  std::vector<std::string> out;
  for (std::size_t k = 0; k < t.hashes.size(); ++k) out.push_back(doc.substr(t.begin[k], t.end[k] - t.begin[k]));
  return out;
}

TEST(DedupTokenizer, WordsSplitOnSpacesAndPunctuationWithOriginalSpans) {
  const std::string doc = "Hello,  World! it's 2024.";
  const Tokens t = tokens_of({doc});
  EXPECT_EQ(spans(doc, t), (std::vector<std::string>{"Hello", "World", "it", "s", "2024"}));
  const Tokens lower = tokens_of({"hello world IT S 9999"});
  ASSERT_EQ(lower.hashes.size(), 5u);
  for (int k = 0; k < 5; ++k) EXPECT_EQ(t.hashes[k], lower.hashes[k]) << k;  // case and digits folded
}

TEST(DedupTokenizer, ModifiersChangeOnlyTheirRule) {
  const std::string doc = "Café CAFE cafe";
  const Tokens plain = tokens_of({doc});
  EXPECT_NE(plain.hashes[0], plain.hashes[2]);  // é kept
  EXPECT_EQ(plain.hashes[1], plain.hashes[2]);
  const Tokens accents = tokens_of({doc}, "words-v1+accents");
  EXPECT_EQ(accents.hashes[0], accents.hashes[2]);
  const Tokens cased = tokens_of({doc}, "words-v1-casefold");
  EXPECT_NE(cased.hashes[1], cased.hashes[2]);
  EXPECT_EQ(parse_tokenizer("words-v1+accents-digits").name(), "words-v1+accents-digits");
  EXPECT_THROW(parse_tokenizer("words-v2"), mlforge::InvalidArgument);
  EXPECT_THROW(parse_tokenizer("words-v1+bogus"), mlforge::InvalidArgument);
}

TEST(DedupTokenizer, ScriptsWithoutSpacesGiveOneTokenPerCharacter) {
  const std::string doc = "東京タワー abc";
  const Tokens t = tokens_of({doc});
  EXPECT_EQ(spans(doc, t), (std::vector<std::string>{"東", "京", "タ", "ワ", "ー", "abc"}));
  const Tokens chars = tokens_of({"ab c"}, "chars-v1");
  EXPECT_EQ(chars.hashes.size(), 3u);
}

TEST(DedupTokenizer, InvalidUtf8ThrowsNamingTheDocumentOrIsReplaced) {
  const std::vector<std::string> docs = {"fine", std::string("bad \xC3\x28 byte"), std::string("\xED\xA0\x80")};
  try {
    tokens_of(docs);
    FAIL() << "expected InvalidArgument";
  } catch (const mlforge::InvalidArgument& error) {
    EXPECT_NE(std::string(error.what()).find("document 1"), std::string::npos) << error.what();
  }
  const Tokens t = tokens_of(docs, "words-v1", true);
  EXPECT_EQ(t.invalid_utf8, (std::vector<std::int64_t>{1, 2}));
}

TEST(DedupTokenizer, ResultsDoNotDependOnThreadCount) {
  std::vector<std::string> docs;
  for (int i = 0; i < 3000; ++i) docs.push_back("doc " + std::to_string(i) + " Ünïcödé text " + std::to_string(i * 7));
  mlforge::set_num_threads(1);
  const Tokens one = tokens_of(docs);
  mlforge::set_num_threads(2);
  const Tokens two = tokens_of(docs);
  EXPECT_EQ(one.hashes, two.hashes);
  EXPECT_EQ(one.doc_offsets, two.doc_offsets);
}

TEST(DedupExactFingerprints, NormalisedEqualityAtEachLevel) {
  const std::vector<std::string> docs = {"Hello, World!\n\nSecond para.", "hello world\n\nsecond PARA", "other"};
  std::vector<std::string_view> views(docs.begin(), docs.end());
  const TextBatch batch{views.data(), 3, false};
  const Fingerprints doc = exact_fingerprints(batch, parse_tokenizer("words-v1"), ExactLevel::kDocument);
  ASSERT_EQ(doc.lo.size(), 3u);
  EXPECT_TRUE(doc.lo[0] == doc.lo[1] && doc.hi[0] == doc.hi[1]);
  EXPECT_FALSE(doc.lo[0] == doc.lo[2] && doc.hi[0] == doc.hi[2]);
  const Fingerprints para = exact_fingerprints(batch, parse_tokenizer("words-v1"), ExactLevel::kParagraph);
  EXPECT_EQ(para.doc_offsets, (std::vector<std::int64_t>{0, 2, 4, 5}));
  EXPECT_EQ(para.lo[1], para.lo[3]);
  EXPECT_EQ(docs[0].substr(para.begin[1], para.end[1] - para.begin[1]), "Second para.");
  const Fingerprints lines = exact_fingerprints(batch, parse_tokenizer("words-v1"), ExactLevel::kLine);
  EXPECT_EQ(lines.doc_offsets, (std::vector<std::int64_t>{0, 2, 4, 5}));  // blank lines have no tokens
}

}  // namespace
