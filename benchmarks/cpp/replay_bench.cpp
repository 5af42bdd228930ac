// Replay table: the workload (capacity 1M transitions of obs f32[8], action i64, reward f32,
// next_obs f32[8], done bool; proportional prioritized, alpha 0.6, beta 0.4; batch 256) at the C++
// API, without Python: what the bindings add on top is replay_bench.py's business.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "mlforge/replay.h"

namespace {

using mlforge::ArrayView;
using mlforge::DType;

constexpr std::int64_t kBatch = 256;

// One field of a batch of n items, owned.
struct Column {
  std::vector<unsigned char> bytes;
  std::array<std::int64_t, 2> shape;
  ArrayView view;
  Column(DType dtype, std::int64_t n, std::int64_t width)
      : bytes(static_cast<std::size_t>(n * width * static_cast<std::int64_t>(mlforge::dtype_size(dtype))), 0),
        shape{n, width},
        view(bytes.data(), dtype, width == 1 ? 1 : 2, shape.data(), nullptr) {}
};

struct Transitions {
  std::vector<Column> columns;
  explicit Transitions(std::int64_t n) {
    columns.emplace_back(DType::kFloat32, n, 8);  // obs
    columns.emplace_back(DType::kInt64, n, 1);    // action
    columns.emplace_back(DType::kFloat32, n, 1);  // reward
    columns.emplace_back(DType::kFloat32, n, 8);  // next_obs
    columns.emplace_back(DType::kBool, n, 1);     // done
  }
  std::vector<ArrayView> views() const {
    std::vector<ArrayView> out;
    for (const Column& c : columns) out.push_back(c.view);
    return out;
  }
};

mlforge::replay::TableConfig config(std::int64_t capacity) {
  mlforge::replay::TableConfig c;
  c.capacity = capacity;
  c.fields = {{"obs", DType::kFloat32, {8}},
              {"action", DType::kInt64, {}},
              {"reward", DType::kFloat32, {}},
              {"next_obs", DType::kFloat32, {8}},
              {"done", DType::kBool, {}}};
  c.alpha = 0.6;
  c.beta = 0.4;
  c.seed = 1;
  return c;
}

// A full table whose items carry random priorities, and their keys.
struct FilledTable {
  std::unique_ptr<mlforge::replay::Table> table;
  std::vector<std::uint64_t> keys;
  explicit FilledTable(std::int64_t capacity)
      : table(std::make_unique<mlforge::replay::Table>(config(capacity))), keys(static_cast<std::size_t>(capacity)) {
    constexpr std::int64_t kChunk = 1000;
    const Transitions batch(kChunk);
    const std::vector<ArrayView> views = batch.views();
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> priority(0.01, 10.0);
    std::vector<double> priorities(kChunk);
    for (std::int64_t start = 0; start < capacity; start += kChunk) {
      const std::int64_t n = std::min(kChunk, capacity - start);
      for (double& p : priorities) p = priority(rng);
      table->insert(views.data(), static_cast<std::int64_t>(views.size()), priorities.data(), n,
                    keys.data() + start);
    }
  }
};

void BM_ReplayInsert(benchmark::State& state) {
  const std::int64_t capacity = state.range(0);
  const Transitions batch(1000);
  const std::vector<ArrayView> views = batch.views();
  std::vector<std::uint64_t> keys(1000);
  mlforge::replay::Table table(config(capacity));
  for (auto _ : state) {
    table.insert(views.data(), static_cast<std::int64_t>(views.size()), nullptr, 1000, keys.data());
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_ReplayInsert)->Arg(1 << 20)->UseRealTime();

void BM_ReplaySample(benchmark::State& state) {
  FilledTable filled(state.range(0));
  Transitions out(kBatch);
  const std::vector<ArrayView> columns = out.views();
  std::vector<std::uint64_t> keys(kBatch);
  std::vector<double> probabilities(kBatch), weights(kBatch);
  const mlforge::replay::SampleBuffers buffers{columns.data(), keys.data(), probabilities.data(), weights.data()};
  for (auto _ : state) filled.table->sample(kBatch, buffers);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_ReplaySample)->Arg(1000000)->UseRealTime();

void BM_ReplayUpdatePriorities(benchmark::State& state) {
  FilledTable filled(state.range(0));
  // Each call updates 256 keys drawn uniformly from the whole table (not cache-hot).
  constexpr int kPool = 4096;
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<std::size_t> pick(0, filled.keys.size() - 1);
  std::uniform_real_distribution<double> priority(0.01, 10.0);
  std::vector<std::uint64_t> keys(kPool * kBatch);
  std::vector<double> priorities(kPool * kBatch);
  for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = filled.keys[pick(rng)], priorities[i] = priority(rng);
  std::size_t call = 0;
  for (auto _ : state) {
    const std::size_t at = (call++ % kPool) * kBatch;
    benchmark::DoNotOptimize(filled.table->update_priorities(keys.data() + at, priorities.data() + at, kBatch));
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_ReplayUpdatePriorities)->Arg(1000000)->UseRealTime();

}  // namespace
