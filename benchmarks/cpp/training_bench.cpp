// Aggregation, training, hashing and sampling kernels: bytes/s and flop counters per size.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "mlforge/kernels.h"
#include "mlforge/random.h"

namespace {

using mlforge::ArrayView;
using mlforge::DType;

std::vector<float> normal_floats(std::int64_t n, std::uint64_t seed) {
  std::vector<float> x(static_cast<std::size_t>(n));
  mlforge::fill_normal(ArrayView(x.data(), DType::kFloat32, {n}), seed, 0, 0);
  return x;
}

void set_flops(benchmark::State& state, double flops) {
  state.counters["flops"] = benchmark::Counter(flops * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// K = 100 client updates of D floats.
struct Updates {
  std::int64_t k, d;
  std::vector<float> data;
  std::vector<ArrayView> rows;
  Updates(std::int64_t k_, std::int64_t d_) : k(k_), d(d_), data(normal_floats(k_ * d_, 1)) {
    for (std::int64_t r = 0; r < k; ++r) rows.emplace_back(data.data() + r * d, DType::kFloat32, std::initializer_list<std::int64_t>{d});
  }
};

void BM_WeightedSum(benchmark::State& state) {
  Updates u(100, state.range(0));
  std::vector<double> w(100, 0.01);
  std::vector<float> out(static_cast<std::size_t>(u.d));
  for (auto _ : state) mlforge::weighted_sum(u.rows, ArrayView(w.data(), DType::kFloat64, {100}), ArrayView(out.data(), DType::kFloat32, {u.d}));
  state.SetBytesProcessed(state.iterations() * 4 * u.k * u.d);
  set_flops(state, 2.0 * u.k * u.d);
}
BENCHMARK(BM_WeightedSum)->Arg(1 << 14)->Arg(1 << 18)->UseRealTime();

void BM_CoordinateMedian(benchmark::State& state) {
  Updates u(100, state.range(0));
  std::vector<float> out(static_cast<std::size_t>(u.d));
  for (auto _ : state) mlforge::coordinate_median(u.rows, ArrayView(out.data(), DType::kFloat32, {u.d}));
  state.SetBytesProcessed(state.iterations() * 4 * u.k * u.d);
}
BENCHMARK(BM_CoordinateMedian)->Arg(1 << 14)->Arg(1 << 17)->UseRealTime();

void BM_TrimmedMean(benchmark::State& state) {
  Updates u(100, state.range(0));
  std::vector<float> out(static_cast<std::size_t>(u.d));
  for (auto _ : state) mlforge::coordinate_trimmed_mean(u.rows, 0.2, ArrayView(out.data(), DType::kFloat32, {u.d}));
  state.SetBytesProcessed(state.iterations() * 4 * u.k * u.d);
}
BENCHMARK(BM_TrimmedMean)->Arg(1 << 14)->Arg(1 << 17)->UseRealTime();

void BM_PairwiseDistances(benchmark::State& state) {
  Updates u(100, state.range(0));
  std::vector<double> out(100 * 100);
  for (auto _ : state) mlforge::pairwise_sq_distances(u.rows, ArrayView(out.data(), DType::kFloat64, {100, 100}));
  state.SetBytesProcessed(state.iterations() * 4 * u.k * u.d);
  set_flops(state, static_cast<double>(u.k) * u.k * u.d);
}
BENCHMARK(BM_PairwiseDistances)->Arg(1 << 14)->Arg(1 << 17)->UseRealTime();

void BM_RowNorms(benchmark::State& state) {
  Updates u(100, state.range(0));
  std::vector<double> out(100);
  for (auto _ : state) mlforge::row_norms(u.rows, ArrayView(out.data(), DType::kFloat64, {100}));
  state.SetBytesProcessed(state.iterations() * 4 * u.k * u.d);
  set_flops(state, 2.0 * u.k * u.d);
}
BENCHMARK(BM_RowNorms)->Arg(1 << 14)->Arg(1 << 18)->UseRealTime();

void BM_SequenceLogprobs(benchmark::State& state) {
  const std::int64_t b = 8, t = state.range(0), v = 32000;
  const auto logits = normal_floats(b * t * v, 2);
  std::vector<std::int64_t> targets(static_cast<std::size_t>(b * t), 7);
  std::vector<float> mask(targets.size(), 1.0f), seq(b), lse(targets.size()), grad_seq(b, 1.0f), grad(logits.size());
  const ArrayView l(const_cast<float*>(logits.data()), DType::kFloat32, {b, t, v});
  const ArrayView y(targets.data(), DType::kInt64, {b, t});
  const ArrayView m(mask.data(), DType::kFloat32, {b, t});
  for (auto _ : state) {
    mlforge::sequence_logprobs(l, y, m, ArrayView(seq.data(), DType::kFloat32, {b}), ArrayView(lse.data(), DType::kFloat32, {b, t}));
    mlforge::sequence_logprobs_backward(l, y, m, ArrayView(lse.data(), DType::kFloat32, {b, t}),
                                        ArrayView(grad_seq.data(), DType::kFloat32, {b}),
                                        ArrayView(grad.data(), DType::kFloat32, {b, t, v}));
  }
  state.SetBytesProcessed(state.iterations() * 12 * b * t * v);  // read twice forward, read + write backward
  set_flops(state, 12.0 * b * t * v);
}
BENCHMARK(BM_SequenceLogprobs)->Arg(16)->Arg(64)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_DpoLoss(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  std::vector<float> x = normal_floats(n, 3), losses(static_cast<std::size_t>(n)), slopes(static_cast<std::size_t>(n));
  const ArrayView v(x.data(), DType::kFloat32, {n});
  for (auto _ : state) {
    mlforge::dpo_loss(v, v, v, v, 0.1, mlforge::DpoLoss::kSigmoid, 0.0, ArrayView(losses.data(), DType::kFloat32, {n}),
                      ArrayView(slopes.data(), DType::kFloat32, {n}));
  }
  state.SetBytesProcessed(state.iterations() * 24 * n);
}
BENCHMARK(BM_DpoLoss)->Arg(1 << 10)->Arg(1 << 16)->UseRealTime();

void BM_Gae(benchmark::State& state) {
  const std::int64_t b = 64, t = state.range(0);
  const auto rewards = normal_floats(b * t, 4), values = normal_floats(b * (t + 1), 5);
  std::vector<std::uint8_t> dones(static_cast<std::size_t>(b * t), 0);
  std::vector<float> adv(dones.size()), ret(dones.size());
  for (auto _ : state) {
    mlforge::gae(ArrayView(const_cast<float*>(rewards.data()), DType::kFloat32, {b, t}),
                 ArrayView(const_cast<float*>(values.data()), DType::kFloat32, {b, t + 1}),
                 ArrayView(dones.data(), DType::kUInt8, {b, t}), 0.99, 0.95, ArrayView(adv.data(), DType::kFloat32, {b, t}),
                 ArrayView(ret.data(), DType::kFloat32, {b, t}));
  }
  state.SetBytesProcessed(state.iterations() * 17 * b * t);
}
BENCHMARK(BM_Gae)->Arg(512)->Arg(4096)->UseRealTime();

void BM_AdamStep(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  std::vector<float> p = normal_floats(n, 6), g = normal_floats(n, 7), m(static_cast<std::size_t>(n)), v(m.size());
  std::int64_t step = 0;
  for (auto _ : state) {
    mlforge::adam_step(ArrayView(p.data(), DType::kFloat32, {n}), ArrayView(g.data(), DType::kFloat32, {n}),
                       ArrayView(m.data(), DType::kFloat32, {n}), ArrayView(v.data(), DType::kFloat32, {n}), ++step, 1e-3,
                       0.9, 0.999, 1e-8, 0.01, true);
  }
  state.SetBytesProcessed(state.iterations() * 28 * n);  // 4 reads + 3 writes of float32
  set_flops(state, 12.0 * n);
}
BENCHMARK(BM_AdamStep)->Arg(1 << 16)->Arg(1 << 22)->UseRealTime();

void BM_MinHash(benchmark::State& state) {
  const std::int64_t docs = state.range(0), per_doc = 100;
  std::vector<std::uint64_t> tokens(static_cast<std::size_t>(docs * per_doc));
  for (std::size_t i = 0; i < tokens.size(); ++i) tokens[i] = 0x9E3779B97F4A7C15ULL * (i + 1);
  std::vector<std::int64_t> offsets(static_cast<std::size_t>(docs + 1));
  for (std::int64_t j = 0; j <= docs; ++j) offsets[static_cast<std::size_t>(j)] = j * per_doc;
  std::vector<std::uint64_t> signatures(static_cast<std::size_t>(docs * 128));
  for (auto _ : state) {
    mlforge::minhash(ArrayView(tokens.data(), DType::kUInt64, {docs * per_doc}), ArrayView(offsets.data(), DType::kInt64, {docs + 1}),
                     1, ArrayView(signatures.data(), DType::kUInt64, {docs, 128}));
  }
  state.SetItemsProcessed(state.iterations() * docs);
}
BENCHMARK(BM_MinHash)->Arg(1000)->Arg(10000)->UseRealTime();

void BM_SimHash(benchmark::State& state) {
  const std::int64_t docs = state.range(0), per_doc = 100;
  std::vector<std::uint64_t> tokens(static_cast<std::size_t>(docs * per_doc));
  for (std::size_t i = 0; i < tokens.size(); ++i) tokens[i] = 0x9E3779B97F4A7C15ULL * (i + 1);
  std::vector<std::int64_t> offsets(static_cast<std::size_t>(docs + 1));
  for (std::int64_t j = 0; j <= docs; ++j) offsets[static_cast<std::size_t>(j)] = j * per_doc;
  std::vector<std::uint64_t> out(static_cast<std::size_t>(docs));
  for (auto _ : state) {
    mlforge::simhash(ArrayView(tokens.data(), DType::kUInt64, {docs * per_doc}), ArrayView(offsets.data(), DType::kInt64, {docs + 1}),
                     ArrayView(out.data(), DType::kUInt64, {docs}));
  }
  state.SetItemsProcessed(state.iterations() * docs);
  state.SetBytesProcessed(state.iterations() * 8 * docs * per_doc);
}
BENCHMARK(BM_SimHash)->Arg(1000)->Arg(100000)->UseRealTime();

void BM_SumTreeUpdateAndSearch(benchmark::State& state) {
  const std::int64_t capacity = state.range(0), batch = 256;
  std::vector<double> tree(static_cast<std::size_t>(2 * capacity), 0.0), prios(static_cast<std::size_t>(batch), 1.0);
  std::vector<std::int64_t> idx(static_cast<std::size_t>(batch)), out(idx.size());
  std::vector<double> values(static_cast<std::size_t>(batch));
  for (std::int64_t j = 0; j < batch; ++j) {
    idx[static_cast<std::size_t>(j)] = (j * 7919) % capacity;
    values[static_cast<std::size_t>(j)] = 0.5 * static_cast<double>(j);
  }
  const ArrayView t(tree.data(), DType::kFloat64, {2 * capacity});
  mlforge::sumtree_update(t, ArrayView(idx.data(), DType::kInt64, {batch}), ArrayView(prios.data(), DType::kFloat64, {batch}));
  for (auto _ : state) {
    mlforge::sumtree_update(t, ArrayView(idx.data(), DType::kInt64, {batch}), ArrayView(prios.data(), DType::kFloat64, {batch}));
    mlforge::sumtree_search(t, ArrayView(values.data(), DType::kFloat64, {batch}), ArrayView(out.data(), DType::kInt64, {batch}));
  }
  state.SetItemsProcessed(state.iterations() * 2 * batch);
}
BENCHMARK(BM_SumTreeUpdateAndSearch)->Arg(1 << 16)->Arg(1 << 20)->UseRealTime();

void BM_StreamTriad(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  std::vector<double> a(static_cast<std::size_t>(n)), b(a.size(), 1.0), c(a.size(), 2.0);
  for (auto _ : state) {
    mlforge::stream_triad(ArrayView(a.data(), DType::kFloat64, {n}), ArrayView(b.data(), DType::kFloat64, {n}),
                          ArrayView(c.data(), DType::kFloat64, {n}), 3.0);
  }
  state.SetBytesProcessed(state.iterations() * 24 * n);
}
BENCHMARK(BM_StreamTriad)->Arg(1 << 16)->Arg(1 << 23)->UseRealTime();

}  // namespace
