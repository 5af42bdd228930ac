// MinHash signatures, LSH parameters, the index (incremental, merge, persistence), SimHash and
// semantic clusters, against brute-force references.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "mlforge/dedup.h"
#include "mlforge/error.h"
#include "mlforge/parallel.h"

namespace {

using namespace mlforge::dedup;

// Documents of random words with planted near-copies (a few words replaced).
std::vector<std::string> corpus(int originals, int copies, double edit, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> vocab;
  for (int w = 0; w < 3000; ++w) {  // letters only: the tokenizer folds digits, so "w1" and "w2" would collide
    std::string word;
    for (int v = w + 1; v > 0; v /= 26) word += static_cast<char>('a' + v % 26);
    vocab.push_back(word + "q");
  }
  std::vector<std::vector<int>> words;
  for (int d = 0; d < originals; ++d) {
    std::vector<int> doc(60 + rng() % 60);
    for (int& w : doc) w = static_cast<int>(rng() % vocab.size());
    words.push_back(doc);
  }
  for (int c = 0; c < copies; ++c) {
    std::vector<int> doc = words[rng() % originals];
    for (int& w : doc) {
      if (std::uniform_real_distribution<double>(0, 1)(rng) < edit) w = static_cast<int>(rng() % vocab.size());
    }
    words.push_back(doc);
  }
  std::vector<std::string> docs;
  for (const auto& doc : words) {
    std::string text;
    for (int w : doc) text += vocab[static_cast<std::size_t>(w)] + " ";
    docs.push_back(text);
  }
  return docs;
}

struct Signed {
  std::vector<std::uint32_t> signatures;
  ShingleSets sets;
};

Signed sign(const std::vector<std::string>& docs, const MinHashParams& params) {
  std::vector<std::string_view> views(docs.begin(), docs.end());
  Signed out;
  out.signatures.resize(docs.size() * static_cast<std::size_t>(params.num_perm));
  minhash_signatures({views.data(), static_cast<std::int64_t>(views.size()), false}, params, out.signatures.data(),
                     &out.sets);
  return out;
}

double jaccard(const ShingleSets& s, std::size_t a, std::size_t b) {
  std::set<std::uint32_t> x(s.values.begin() + s.offsets[a], s.values.begin() + s.offsets[a + 1]);
  std::set<std::uint32_t> y(s.values.begin() + s.offsets[b], s.values.begin() + s.offsets[b + 1]);
  std::size_t common = 0;
  for (auto v : x) common += y.count(v);
  return static_cast<double>(common) / static_cast<double>(x.size() + y.size() - common);
}

TEST(DedupMinHash, SignatureEstimateIsUnbiased) {
  const auto docs = corpus(200, 200, 0.05, 1);
  MinHashParams params;
  params.num_perm = 256;
  const Signed s = sign(docs, params);
  double error_sum = 0.0, error_sq = 0.0;
  int pairs = 0;
  for (std::size_t c = 200; c < docs.size(); ++c) {
    for (std::size_t o = 0; o < 200; ++o) {
      const double exact = jaccard(s.sets, c, o);
      if (exact < 0.2) continue;
      int equal = 0;
      for (int i = 0; i < params.num_perm; ++i) equal += s.signatures[c * 256 + i] == s.signatures[o * 256 + i];
      const double error = equal / 256.0 - exact;
      error_sum += error, error_sq += error * error, ++pairs;
    }
  }
  ASSERT_GT(pairs, 150);
  const double bias = error_sum / pairs, rms = std::sqrt(error_sq / pairs);
  EXPECT_LT(std::fabs(bias), 0.01);
  EXPECT_LT(rms, 0.045);  // binomial: sqrt(J(1-J)/256) <= 0.031
}

TEST(DedupMinHash, EmptyDocumentsAndShortDocuments) {
  MinHashParams params;
  const Signed s = sign({"", "one two", " ,. "}, params);
  for (int i = 0; i < params.num_perm; ++i) EXPECT_EQ(s.signatures[static_cast<std::size_t>(i)], 0xFFFFFFFFu);
  EXPECT_EQ(s.sets.offsets, (std::vector<std::int64_t>{0, 0, 1, 1}));  // a short document is one shingle
  params.ngram = 0;
  EXPECT_THROW(sign({"x"}, params), mlforge::InvalidArgument);
}

TEST(DedupLsh, ProbabilityAndParameterChoice) {
  EXPECT_NEAR(lsh_probability({9, 13}, 0.8), 1 - std::pow(1 - std::pow(0.8, 13), 9), 1e-15);
  const LshParams lsh = choose_lsh_params(0.8, 128, 0.95);
  EXPECT_LE(lsh.bands * lsh.rows, 128);
  EXPECT_GE(lsh_probability(lsh, 0.8), 0.95);
  EXPECT_THROW(choose_lsh_params(0.0, 128, 0.9), mlforge::InvalidArgument);
  EXPECT_THROW(choose_lsh_params(0.8, 128, 1.0), mlforge::InvalidArgument);
}

IndexConfig config_for(const MinHashParams& params, LshParams lsh, Verify verify = Verify::kJaccard) {
  IndexConfig c;
  c.num_perm = params.num_perm;
  c.lsh = lsh;
  c.threshold = 0.5;
  c.verify = verify;
  c.scheme = params.scheme();
  return c;
}

TEST(DedupIndex, ClustersEqualBruteForceComponentsWhenRecallIsFull) {
  const auto docs = corpus(150, 150, 0.08, 2);
  MinHashParams params;
  params.num_perm = 64;
  const Signed s = sign(docs, params);
  MinHashIndex index(config_for(params, {64, 1}));  // one row per band: every shared shingle is a candidate
  index.add(s.signatures.data(), static_cast<std::int64_t>(docs.size()), &s.sets);
  // Brute force: components of the graph J >= 0.5.
  std::vector<std::int64_t> expected(docs.size());
  for (std::size_t i = 0; i < docs.size(); ++i) expected[i] = static_cast<std::int64_t>(i);
  bool changed = true;
  while (changed) {
    changed = false;
    for (std::size_t i = 0; i < docs.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (jaccard(s.sets, i, j) >= 0.5 && expected[i] != expected[j]) {
          expected[i] = expected[j] = std::min(expected[i], expected[j]);
          changed = true;
        }
      }
    }
  }
  EXPECT_EQ(index.clusters(), expected);
  EXPECT_GT(index.stats().verified_pairs, 50);  // the comparison above is not vacuous
}

TEST(DedupIndex, BatchesMergeAndPersistenceGiveTheSameClusters) {
  const auto docs = corpus(300, 300, 0.1, 3);
  MinHashParams params;
  const Signed s = sign(docs, params);
  const IndexConfig c = config_for(params, choose_lsh_params(0.5, 128, 0.95));
  const auto n = static_cast<std::int64_t>(docs.size());
  MinHashIndex whole(c);
  whole.add(s.signatures.data(), n, &s.sets);
  const auto expected = whole.clusters();

  // Two shards, merged.
  auto slice = [&](std::int64_t lo, std::int64_t hi) {
    ShingleSets part;
    for (std::int64_t j = lo; j < hi; ++j) {
      part.values.insert(part.values.end(), s.sets.values.begin() + s.sets.offsets[j],
                         s.sets.values.begin() + s.sets.offsets[j + 1]);
      part.offsets.push_back(static_cast<std::int64_t>(part.values.size()));
    }
    return part;
  };
  MinHashIndex left(c), right(c);
  const ShingleSets a = slice(0, 250), b = slice(250, n);
  left.add(s.signatures.data(), 250, &a);
  right.add(s.signatures.data() + 250 * 128, n - 250, &b);
  left.merge(right);
  EXPECT_EQ(left.clusters(), expected);

  const std::string path = ::testing::TempDir() + "/dedup_index.bin";
  whole.save(path);
  const MinHashIndex loaded = MinHashIndex::load(path);
  EXPECT_EQ(loaded.clusters(), expected);
  EXPECT_EQ(loaded.query(s.signatures.data(), n, &s.sets), whole.query(s.signatures.data(), n, &s.sets));
  {  // flip one payload byte: the checksum catches it
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(100);
    file.put('\x7f');
  }
  EXPECT_THROW(MinHashIndex::load(path), mlforge::CorruptData);
  std::remove(path.c_str());
}

TEST(DedupIndex, RejectsBadConfigurationsAndMismatchedMerges) {
  MinHashParams params;
  EXPECT_THROW(MinHashIndex(config_for(params, {20, 7})), mlforge::InvalidArgument);  // 140 > 128
  IndexConfig bad = config_for(params, {16, 8});
  bad.threshold = 1.5;
  EXPECT_THROW(MinHashIndex{bad}, mlforge::InvalidArgument);
  MinHashIndex a(config_for(params, {16, 8})), b(config_for(params, {8, 16}));
  EXPECT_THROW(a.merge(b), mlforge::InvalidArgument);
  std::vector<std::uint32_t> sig(128, 1);
  EXPECT_THROW(a.add(sig.data(), 1, nullptr), mlforge::InvalidArgument);  // jaccard needs sets
}

TEST(DedupSimHash, ClustersEqualBruteForceHamming) {
  std::mt19937_64 rng(4);
  std::vector<std::uint64_t> fp(400);
  for (std::size_t i = 0; i < fp.size(); ++i) {
    fp[i] = i % 4 == 0 || i < 4 ? rng() : fp[i - 1 - rng() % 3] ^ (std::uint64_t{1} << (rng() % 64)) ^ (std::uint64_t{1} << (rng() % 64));
  }
  const auto ids = simhash_clusters(fp.data(), nullptr, static_cast<std::int64_t>(fp.size()), 3);
  std::vector<std::int64_t> expected(fp.size());
  for (std::size_t i = 0; i < fp.size(); ++i) expected[i] = static_cast<std::int64_t>(i);
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t i = 0; i < fp.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (__builtin_popcountll(fp[i] ^ fp[j]) <= 3 && expected[i] != expected[j]) {
          expected[i] = expected[j] = std::min(expected[i], expected[j]);
          changed = true;
        }
      }
    }
  }
  EXPECT_EQ(ids, expected);
  EXPECT_THROW(simhash_clusters(fp.data(), nullptr, 1, 17), mlforge::InvalidArgument);
}

TEST(DedupSemantic, LinksRowsAboveTheCosineThresholdWithinAClusterOnly) {
  const std::vector<float> e = {1, 0, 2, 0.01f, 0, 1, 1, 0, 0, 0};  // rows: x, ~x, y, x (other cluster), zero
  const std::vector<std::int64_t> labels = {0, 0, 0, 1, 0};
  EXPECT_EQ(semantic_clusters(e.data(), 5, 2, labels.data(), 0.99), (std::vector<std::int64_t>{0, 0, 2, 3, 4}));
  EXPECT_THROW(semantic_clusters(e.data(), 5, 2, labels.data(), 1.5), mlforge::InvalidArgument);
}

}  // namespace
