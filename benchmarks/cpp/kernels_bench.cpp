// Kernel throughput: reduce_sum and the Philox fills, with bytes/s counters.
#include <benchmark/benchmark.h>

#include <numeric>
#include <vector>

#include "mlforge/kernels.h"
#include "mlforge/random.h"

namespace {

void BM_ReduceSumFloat32(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  std::vector<float> data(static_cast<std::size_t>(n), 1.0f);
  const mlforge::ArrayView view(data.data(), mlforge::DType::kFloat32, {n});
  for (auto _ : state) benchmark::DoNotOptimize(mlforge::reduce_sum(view));
  state.SetBytesProcessed(state.iterations() * n * static_cast<std::int64_t>(sizeof(float)));
}
BENCHMARK(BM_ReduceSumFloat32)->RangeMultiplier(16)->Range(1 << 12, 1 << 24)->UseRealTime();

void BM_ReduceSumFloat64(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  std::vector<double> data(static_cast<std::size_t>(n), 1.0);
  const mlforge::ArrayView view(data.data(), mlforge::DType::kFloat64, {n});
  for (auto _ : state) benchmark::DoNotOptimize(mlforge::reduce_sum(view));
  state.SetBytesProcessed(state.iterations() * n * static_cast<std::int64_t>(sizeof(double)));
}
BENCHMARK(BM_ReduceSumFloat64)->RangeMultiplier(16)->Range(1 << 12, 1 << 24)->UseRealTime();

void BM_NaiveSerialSumFloat32(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  std::vector<float> data(static_cast<std::size_t>(n), 1.0f);
  for (auto _ : state) benchmark::DoNotOptimize(std::accumulate(data.begin(), data.end(), 0.0));
  state.SetBytesProcessed(state.iterations() * n * static_cast<std::int64_t>(sizeof(float)));
}
BENCHMARK(BM_NaiveSerialSumFloat32)->RangeMultiplier(16)->Range(1 << 12, 1 << 24)->UseRealTime();

void BM_FillNormalFloat32(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  std::vector<float> data(static_cast<std::size_t>(n));
  const mlforge::ArrayView view(data.data(), mlforge::DType::kFloat32, {n});
  std::uint64_t offset = 0;
  for (auto _ : state) {
    mlforge::fill_normal(view, 1, 0, offset, 0.0, 1.0);
    offset += static_cast<std::uint64_t>(n);
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_FillNormalFloat32)->Arg(1 << 20)->UseRealTime();

void BM_FillUniformFloat64(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  std::vector<double> data(static_cast<std::size_t>(n));
  const mlforge::ArrayView view(data.data(), mlforge::DType::kFloat64, {n});
  for (auto _ : state) mlforge::fill_uniform(view, 1, 0, 0, 0.0, 1.0);
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_FillUniformFloat64)->Arg(1 << 20)->UseRealTime();

}  // namespace
