// Dedup engine throughput on ~1 KB English-like documents: tokenisation, exact fingerprints,
// MinHash signatures (documents/s and bytes/s) and LSH index insertion, one thread.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "mlforge/dedup.h"
#include "mlforge/parallel.h"

namespace {

using namespace mlforge::dedup;

// Zipf-distributed random words, about 1,000 bytes per document.
const std::vector<std::string>& documents() {
  static const std::vector<std::string> docs = [] {
    std::mt19937 rng(12345);
    std::vector<std::string> vocab;
    for (int w = 0; w < 5000; ++w) {
      std::string word;
      for (int k = 0, len = 3 + static_cast<int>(rng() % 8); k < len; ++k) word += static_cast<char>('a' + rng() % 26);
      vocab.push_back(word);
    }
    std::vector<double> weights(vocab.size());
    for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = 1.0 / static_cast<double>(i + 1);
    std::discrete_distribution<std::size_t> zipf(weights.begin(), weights.end());
    std::vector<std::string> out(5000);
    for (auto& doc : out) {
      while (doc.size() < 1000) doc += vocab[zipf(rng)] + " ";
    }
    return out;
  }();
  return docs;
}

struct Batch {
  std::vector<std::string_view> views;
  TextBatch text;
  std::int64_t bytes = 0;
  Batch() {
    for (const auto& doc : documents()) {
      views.emplace_back(doc);
      bytes += static_cast<std::int64_t>(doc.size());
    }
    text = {views.data(), static_cast<std::int64_t>(views.size()), false};
  }
};

void count(benchmark::State& state, const Batch& batch) {
  state.SetItemsProcessed(state.iterations() * batch.text.count);
  state.SetBytesProcessed(state.iterations() * batch.bytes);
}

void BM_DedupTokenize(benchmark::State& state) {
  mlforge::set_num_threads(1);
  const Batch batch;
  const TokenizerConfig config = parse_tokenizer("words-v1");
  for (auto _ : state) benchmark::DoNotOptimize(tokenize(batch.text, config));
  count(state, batch);
}
BENCHMARK(BM_DedupTokenize)->Unit(benchmark::kMillisecond);

void BM_DedupExactFingerprints(benchmark::State& state) {
  mlforge::set_num_threads(1);
  const Batch batch;
  const TokenizerConfig config = parse_tokenizer("words-v1");
  for (auto _ : state) benchmark::DoNotOptimize(exact_fingerprints(batch.text, config, ExactLevel::kDocument));
  count(state, batch);
}
BENCHMARK(BM_DedupExactFingerprints)->Unit(benchmark::kMillisecond);

void BM_DedupMinHash(benchmark::State& state) {
  mlforge::set_num_threads(static_cast<int>(state.range(1)));
  const Batch batch;
  MinHashParams params;
  params.num_perm = static_cast<std::int32_t>(state.range(0));
  std::vector<std::uint32_t> signatures(static_cast<std::size_t>(batch.text.count * params.num_perm));
  for (auto _ : state) minhash_signatures(batch.text, params, signatures.data(), nullptr);
  count(state, batch);
  mlforge::set_num_threads(1);
}
BENCHMARK(BM_DedupMinHash)->Args({128, 1})->Args({128, 2})->Args({256, 1})->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_DedupIndexAdd(benchmark::State& state) {
  mlforge::set_num_threads(1);
  const Batch batch;
  MinHashParams params;
  std::vector<std::uint32_t> signatures(static_cast<std::size_t>(batch.text.count * params.num_perm));
  minhash_signatures(batch.text, params, signatures.data(), nullptr);
  IndexConfig config;
  config.lsh = {9, 13};
  config.verify = Verify::kMinHash;
  config.scheme = params.scheme();
  for (auto _ : state) {
    MinHashIndex index(config);
    index.add(signatures.data(), batch.text.count, nullptr);
    benchmark::DoNotOptimize(index.clusters());
  }
  state.SetItemsProcessed(state.iterations() * batch.text.count);
}
BENCHMARK(BM_DedupIndexAdd)->Unit(benchmark::kMillisecond);

}  // namespace
