// Secure-aggregation arithmetic: ChaCha20 mask expansion (1M parameters), fused mask add with
// several seeds, fixed-point quantization, modular add, and DP noise/clipping, with bytes/s counters.
// Thread count: the engine pool's (REACTOR_NUM_THREADS); Arg(1) rows pin one thread for a per-core figure.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "mlforge/parallel.h"
#include "mlforge/privacy.h"
#include "mlforge/secure_agg.h"

namespace {

constexpr std::int64_t kParams = 1'000'000;

mlforge::ChaChaKey key_for(int i) {
  mlforge::ChaChaKey key{};
  for (std::size_t b = 0; b < key.size(); ++b) key[b] = static_cast<std::uint8_t>(i * 31 + static_cast<int>(b));
  return key;
}

// Arg: thread count (0: the pool's default).
struct Threads {
  explicit Threads(std::int64_t n) : before(mlforge::num_threads()) {
    if (n > 0) mlforge::set_num_threads(static_cast<int>(n));
  }
  ~Threads() { mlforge::set_num_threads(before); }
  int before;
};

void BM_ChaCha20ExpandMask1M(benchmark::State& state) {
  const Threads threads(state.range(0));
  std::vector<std::uint32_t> mask(kParams);
  const mlforge::ArrayView view(mask.data(), mlforge::DType::kUInt32, {kParams});
  const mlforge::ChaChaKey key = key_for(1);
  for (auto _ : state) {
    mlforge::chacha20_expand(view, key);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kParams * 4);
}
BENCHMARK(BM_ChaCha20ExpandMask1M)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);

// One client's masking in SecAgg: self mask plus n-1 pairwise masks, fused into one pass.
void BM_AddMasks1M(benchmark::State& state) {
  std::vector<std::uint32_t> acc(kParams, 0);
  const mlforge::ArrayView view(acc.data(), mlforge::DType::kUInt32, {kParams});
  std::vector<mlforge::MaskSeed> seeds;
  for (int s = 0; s < state.range(0); ++s) seeds.push_back({key_for(s), s % 2 == 0 ? 1 : -1});
  for (auto _ : state) {
    mlforge::add_masks(view, seeds);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kParams * 4 * state.range(0));  // keystream bytes
}
BENCHMARK(BM_AddMasks1M)->Arg(1)->Arg(8)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_Quantize1M(benchmark::State& state) {
  std::vector<float> x(kParams);
  for (std::int64_t i = 0; i < kParams; ++i) {
    x[static_cast<std::size_t>(i)] = static_cast<float>((i % 2001) - 1000) * 1e-3f;
  }
  std::vector<std::uint32_t> q(kParams);
  const mlforge::ArrayView xv(x.data(), mlforge::DType::kFloat32, {kParams});
  const mlforge::ArrayView qv(q.data(), mlforge::DType::kUInt32, {kParams});
  const std::int64_t levels = mlforge::fixed_point_levels(100);
  for (auto _ : state) {
    mlforge::quantize(xv, 1.0, levels, 100, qv);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kParams * 8);  // read 4 + write 4
}
BENCHMARK(BM_Quantize1M)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_AddMod1M(benchmark::State& state) {
  std::vector<std::uint32_t> acc(kParams, 1), values(kParams, 3);
  const mlforge::ArrayView av(acc.data(), mlforge::DType::kUInt32, {kParams});
  const mlforge::ArrayView vv(values.data(), mlforge::DType::kUInt32, {kParams});
  for (auto _ : state) {
    mlforge::add_mod(av, vv, 1);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kParams * 12);  // read 8 + write 4
}
BENCHMARK(BM_AddMod1M)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_AddGaussianNoise1M(benchmark::State& state) {
  std::vector<float> x(kParams, 0.0f);
  const mlforge::ArrayView view(x.data(), mlforge::DType::kFloat32, {kParams});
  std::uint64_t round = 0;
  for (auto _ : state) mlforge::add_gaussian_noise(view, 0.1, 7, round++);
  state.SetItemsProcessed(state.iterations() * kParams);
}
BENCHMARK(BM_AddGaussianNoise1M)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_ClipUpdates100x1M(benchmark::State& state) {
  const std::int64_t clients = 100;
  std::vector<float> data(static_cast<std::size_t>(clients * kParams), 1e-4f);
  std::vector<mlforge::ArrayView> rows;
  for (std::int64_t k = 0; k < clients; ++k) rows.emplace_back(data.data() + k * kParams, mlforge::DType::kFloat32,
                                                                std::initializer_list<std::int64_t>{kParams});
  std::vector<double> norms(clients);
  const mlforge::ArrayView nv(norms.data(), mlforge::DType::kFloat64, {clients});
  for (auto _ : state) mlforge::clip_updates(rows, 1e6, nv);  // norms only: nothing exceeds the bound
  state.SetBytesProcessed(state.iterations() * clients * kParams * 4);
}
BENCHMARK(BM_ClipUpdates100x1M)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
