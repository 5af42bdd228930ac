// parallel_for overhead against a plain std::thread fan-out and OpenMP, on the same work:
// a light per-element body (the overhead shows) and a heavier one (the scaling shows).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <thread>
#include <vector>

#include "mlforge/parallel.h"

namespace {

// Per element: a few flops, written to memory so the loop is not optimised away.
inline void body(std::vector<float>& out, std::int64_t lo, std::int64_t hi, int work) {
  for (std::int64_t i = lo; i < hi; ++i) {
    float x = static_cast<float>(i);
    for (int k = 0; k < work; ++k) x = std::fma(x, 0.999f, 0.5f);
    out[static_cast<std::size_t>(i)] = x;
  }
}

void set_counters(benchmark::State& state, std::int64_t n) {
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * static_cast<std::int64_t>(sizeof(float)));
}

void BM_MlforgeParallelFor(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const int work = static_cast<int>(state.range(1));
  std::vector<float> out(static_cast<std::size_t>(n));
  for (auto _ : state) {
    mlforge::parallel_for(0, n, 4096, [&](std::int64_t lo, std::int64_t hi) { body(out, lo, hi, work); });
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(state, n);
  state.counters["threads"] = mlforge::num_threads();
}

void BM_StdThreadFanOut(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const int work = static_cast<int>(state.range(1));
  const int threads = mlforge::num_threads();
  std::vector<float> out(static_cast<std::size_t>(n));
  for (auto _ : state) {
    // What a hand-rolled loop does: spawn, split evenly, join, every call.
    std::vector<std::thread> pool;
    const std::int64_t step = (n + threads - 1) / threads;
    for (int t = 1; t < threads; ++t)
      pool.emplace_back([&, t] { body(out, std::min(n, t * step), std::min(n, (t + 1) * step), work); });
    body(out, 0, std::min(n, step), work);
    for (auto& thread : pool) thread.join();
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(state, n);
  state.counters["threads"] = threads;
}

void BM_Serial(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const int work = static_cast<int>(state.range(1));
  std::vector<float> out(static_cast<std::size_t>(n));
  for (auto _ : state) {
    body(out, 0, n, work);
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(state, n);
}

#ifdef MLFORGE_BENCH_OPENMP
void BM_OpenMP(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const int work = static_cast<int>(state.range(1));
  std::vector<float> out(static_cast<std::size_t>(n));
  const int threads = mlforge::num_threads();
  for (auto _ : state) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (std::int64_t block = 0; block < (n + 4095) / 4096; ++block)
      body(out, block * 4096, std::min(n, (block + 1) * 4096), work);
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(state, n);
  state.counters["threads"] = threads;
}
BENCHMARK(BM_OpenMP)->ArgsProduct({{1 << 10, 1 << 16, 1 << 22}, {1, 32}})->UseRealTime();
#endif

BENCHMARK(BM_Serial)->ArgsProduct({{1 << 10, 1 << 16, 1 << 22}, {1, 32}})->UseRealTime();
BENCHMARK(BM_MlforgeParallelFor)->ArgsProduct({{1 << 10, 1 << 16, 1 << 22}, {1, 32}})->UseRealTime();
BENCHMARK(BM_StdThreadFanOut)->ArgsProduct({{1 << 10, 1 << 16, 1 << 22}, {1, 32}})->UseRealTime();

// Pure dispatch cost: an empty range of 2 chunks forces a hand-off to the pool and back.
void BM_MlforgeDispatchOverhead(benchmark::State& state) {
  for (auto _ : state) mlforge::parallel_for(0, 2, 1, [](std::int64_t, std::int64_t) {});
}
BENCHMARK(BM_MlforgeDispatchOverhead)->UseRealTime();

#ifdef MLFORGE_BENCH_OPENMP
void BM_OpenMPDispatchOverhead(benchmark::State& state) {
  const int threads = mlforge::num_threads();
  for (auto _ : state) {
#pragma omp parallel for num_threads(threads)
    for (int i = 0; i < 2; ++i) benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_OpenMPDispatchOverhead)->UseRealTime();
#endif

void BM_StdThreadDispatchOverhead(benchmark::State& state) {
  for (auto _ : state) {
    std::thread t([] { benchmark::ClobberMemory(); });
    t.join();
  }
}
BENCHMARK(BM_StdThreadDispatchOverhead)->UseRealTime();

}  // namespace
