// CUDA twins against their CPU references. Skipped without a usable GPU.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "mlforge/device.h"
#include "mlforge/error.h"
#include "mlforge/kernels.h"
#include "mlforge/random.h"

namespace {

using mlforge::ArrayView;
using mlforge::DType;

constexpr mlforge::Device kGpu{mlforge::DeviceType::kCUDA, 0};

// Device copy of a host vector, freed at scope end.
template <class T>
class DeviceVector {
 public:
  explicit DeviceVector(const std::vector<T>& host) : size_(host.size()) {
    EXPECT_EQ(cudaMalloc(&data_, sizeof(T) * (size_ + 1)), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(data_, host.data(), sizeof(T) * size_, cudaMemcpyHostToDevice), cudaSuccess);
  }
  ~DeviceVector() { cudaFree(data_); }
  std::vector<T> to_host() const {
    std::vector<T> host(size_);
    EXPECT_EQ(cudaMemcpy(host.data(), data_, sizeof(T) * size_, cudaMemcpyDeviceToHost), cudaSuccess);
    return host;
  }
  ArrayView view(DType dtype, std::initializer_list<std::int64_t> shape) const { return ArrayView(data_, dtype, shape, kGpu); }

 private:
  void* data_ = nullptr;
  std::size_t size_;
};

#define REQUIRE_GPU() \
  if (!mlforge::cuda_available()) GTEST_SKIP() << "no usable CUDA device"

TEST(KernelsCuda, UniformAndNormalNoiseAreBitIdenticalToCpu) {
  REQUIRE_GPU();
  const std::int64_t n = 100003;
  std::vector<double> cpu(n), cpu_normal(n);
  mlforge::fill_uniform(ArrayView(cpu.data(), DType::kFloat64, {n}), 7, 3, 11, -1.0, 2.0);
  mlforge::fill_normal(ArrayView(cpu_normal.data(), DType::kFloat64, {n}), 7, 3, 11, 0.5, 2.0);
  DeviceVector<double> gpu{std::vector<double>(n)}, gpu_normal{std::vector<double>(n)};
  mlforge::fill_uniform(gpu.view(DType::kFloat64, {n}), 7, 3, 11, -1.0, 2.0);
  mlforge::fill_normal(gpu_normal.view(DType::kFloat64, {n}), 7, 3, 11, 0.5, 2.0);
  EXPECT_EQ(gpu.to_host(), cpu);
  EXPECT_EQ(gpu_normal.to_host(), cpu_normal);  // same polynomials, no FMA contraction on either side
}

TEST(KernelsCuda, WeightedSumMatchesCpu) {
  REQUIRE_GPU();
  const std::int64_t k = 7, d = 50001;
  std::vector<float> data(k * d);
  mlforge::fill_normal(ArrayView(data.data(), DType::kFloat32, {k * d}), 1, 0, 0);
  std::vector<double> weights = {0.5, 1.0, 2.0, -1.0, 0.25, 3.0, 1.5};
  std::vector<ArrayView> rows_cpu;
  for (std::int64_t r = 0; r < k; ++r) rows_cpu.emplace_back(data.data() + r * d, DType::kFloat32, std::initializer_list<std::int64_t>{d});
  std::vector<float> cpu(d);
  mlforge::weighted_sum(rows_cpu, ArrayView(weights.data(), DType::kFloat64, {k}), ArrayView(cpu.data(), DType::kFloat32, {d}));
  DeviceVector<float> gpu_data(data), gpu_out{std::vector<float>(d)};
  DeviceVector<double> gpu_weights(weights);
  std::vector<ArrayView> rows_gpu;
  const auto all = gpu_data.view(DType::kFloat32, {k * d});
  for (std::int64_t r = 0; r < k; ++r) {
    rows_gpu.emplace_back(static_cast<float*>(all.data()) + r * d, DType::kFloat32, std::initializer_list<std::int64_t>{d}, kGpu);
  }
  mlforge::weighted_sum(rows_gpu, gpu_weights.view(DType::kFloat64, {k}), gpu_out.view(DType::kFloat32, {d}));
  EXPECT_EQ(gpu_out.to_host(), cpu);  // same float64 sum order per coordinate
}

TEST(KernelsCuda, SequenceLogprobsForwardAndBackwardMatchCpu) {
  REQUIRE_GPU();
  const std::int64_t b = 3, t = 5, v = 3001;
  std::vector<float> logits(b * t * v);
  mlforge::fill_normal(ArrayView(logits.data(), DType::kFloat32, {b * t * v}), 2, 0, 0, 0.0, 3.0);
  std::vector<std::int64_t> targets(b * t);
  std::vector<float> mask(b * t, 1.0f);
  for (std::int64_t i = 0; i < b * t; ++i) targets[i] = (i * 97) % v;
  mask[4] = 0.0f;
  targets[4] = -100;
  std::vector<float> seq(b), lse(b * t), grad_seq = {1.0f, -2.0f, 0.5f}, grad(b * t * v);
  const ArrayView l(logits.data(), DType::kFloat32, {b, t, v});
  const ArrayView y(targets.data(), DType::kInt64, {b, t});
  const ArrayView m(mask.data(), DType::kFloat32, {b, t});
  mlforge::sequence_logprobs(l, y, m, ArrayView(seq.data(), DType::kFloat32, {b}), ArrayView(lse.data(), DType::kFloat32, {b, t}));
  mlforge::sequence_logprobs_backward(l, y, m, ArrayView(lse.data(), DType::kFloat32, {b, t}),
                                      ArrayView(grad_seq.data(), DType::kFloat32, {b}),
                                      ArrayView(grad.data(), DType::kFloat32, {b, t, v}));
  DeviceVector<float> gl(logits), gm(mask), gseq{std::vector<float>(b)}, glse{std::vector<float>(b * t)}, gg(grad_seq),
      ggrad{std::vector<float>(b * t * v)};
  DeviceVector<std::int64_t> gy(targets);
  const auto dl = gl.view(DType::kFloat32, {b, t, v});
  const auto dy = gy.view(DType::kInt64, {b, t});
  const auto dm = gm.view(DType::kFloat32, {b, t});
  mlforge::sequence_logprobs(dl, dy, dm, gseq.view(DType::kFloat32, {b}), glse.view(DType::kFloat32, {b, t}));
  mlforge::sequence_logprobs_backward(dl, dy, dm, glse.view(DType::kFloat32, {b, t}), gg.view(DType::kFloat32, {b}),
                                      ggrad.view(DType::kFloat32, {b, t, v}));
  const auto seq_gpu = gseq.to_host();
  for (std::int64_t i = 0; i < b; ++i) EXPECT_NEAR(seq_gpu[i], seq[i], 1e-5 * std::fabs(seq[i]));
  const auto grad_gpu = ggrad.to_host();
  for (std::size_t i = 0; i < grad.size(); ++i) ASSERT_NEAR(grad_gpu[i], grad[i], 1e-6 + 1e-5 * std::fabs(grad[i]));
  targets[0] = v;  // out of range where the mask keeps it: the device check must refuse it
  DeviceVector<std::int64_t> bad(targets);
  EXPECT_THROW(mlforge::sequence_logprobs(dl, bad.view(DType::kInt64, {b, t}), dm, gseq.view(DType::kFloat32, {b}),
                                          glse.view(DType::kFloat32, {b, t})),
               mlforge::InvalidArgument);
  EXPECT_THROW(mlforge::sequence_logprobs_backward(dl, bad.view(DType::kInt64, {b, t}), dm, glse.view(DType::kFloat32, {b, t}),
                                                   gg.view(DType::kFloat32, {b}), ggrad.view(DType::kFloat32, {b, t, v})),
               mlforge::InvalidArgument);
  // T = 0: every sequence sums to 0, as on the CPU.
  DeviceVector<float> no_steps_out{std::vector<float>(b, 123.0f)};
  mlforge::sequence_logprobs(ArrayView(static_cast<float*>(dl.data()), DType::kFloat32, {b, 0, v}, kGpu),
                             ArrayView(static_cast<std::int64_t*>(dy.data()), DType::kInt64, {b, 0}, kGpu),
                             ArrayView(static_cast<float*>(dm.data()), DType::kFloat32, {b, 0}, kGpu),
                             no_steps_out.view(DType::kFloat32, {b}), ArrayView(glse.view(DType::kFloat32, {b, t}).data(), DType::kFloat32, {b, 0}, kGpu));
  EXPECT_EQ(no_steps_out.to_host(), std::vector<float>(b, 0.0f));
}

TEST(KernelsCuda, DpoAndSumTreeMatchCpu) {
  REQUIRE_GPU();
  // DPO
  std::vector<double> pc = {1.0, -2.0, 0.3}, pr = {0.5, 0.1, 0.3}, rc = {0.0, 0.2, -1.0}, rr = {0.1, 0.0, 0.4};
  std::vector<double> loss(3), slope(3);
  auto v3 = [](std::vector<double>& x) { return ArrayView(x.data(), DType::kFloat64, {3}); };
  mlforge::dpo_loss(v3(pc), v3(pr), v3(rc), v3(rr), 0.5, mlforge::DpoLoss::kRobust, 0.1, v3(loss), v3(slope));
  DeviceVector<double> a(pc), b(pr), c(rc), d(rr), gl(loss), gs(slope);
  mlforge::dpo_loss(a.view(DType::kFloat64, {3}), b.view(DType::kFloat64, {3}), c.view(DType::kFloat64, {3}),
                    d.view(DType::kFloat64, {3}), 0.5, mlforge::DpoLoss::kRobust, 0.1, gl.view(DType::kFloat64, {3}),
                    gs.view(DType::kFloat64, {3}));
  const auto gpu_loss = gl.to_host();
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(gpu_loss[i], loss[i], 1e-12);
  // A non-finite pair: refused, and nothing is written.
  std::vector<double> poisoned = {1.0, NAN, 0.3};
  DeviceVector<double> gp(poisoned), untouched{std::vector<double>(3, -7.0)};
  EXPECT_THROW(mlforge::dpo_loss(gp.view(DType::kFloat64, {3}), b.view(DType::kFloat64, {3}), c.view(DType::kFloat64, {3}),
                                 d.view(DType::kFloat64, {3}), 0.5, mlforge::DpoLoss::kSigmoid, 0.0,
                                 untouched.view(DType::kFloat64, {3}), gs.view(DType::kFloat64, {3})),
               mlforge::InvalidArgument);
  EXPECT_EQ(untouched.to_host(), std::vector<double>(3, -7.0));
  // Sum tree
  std::vector<double> tree(2 * 1024, 0.0), prios(1024);
  std::vector<std::int64_t> idx(1024);
  for (int i = 0; i < 1024; ++i) {
    idx[i] = i;
    prios[i] = (i % 5 == 0) ? 0.0 : 1.0 + i % 7;
  }
  mlforge::sumtree_update(ArrayView(tree.data(), DType::kFloat64, {2048}), ArrayView(idx.data(), DType::kInt64, {1024}),
                          ArrayView(prios.data(), DType::kFloat64, {1024}));
  DeviceVector<double> gtree{std::vector<double>(2048, 0.0)}, gprio(prios);
  DeviceVector<std::int64_t> gidx(idx);
  mlforge::sumtree_update(gtree.view(DType::kFloat64, {2048}), gidx.view(DType::kInt64, {1024}),
                          gprio.view(DType::kFloat64, {1024}));
  EXPECT_EQ(gtree.to_host(), tree);
  std::vector<double> values = {0.0, 1.5, tree[1] * 0.5, tree[1] * 0.999};
  std::vector<std::int64_t> out(4);
  mlforge::sumtree_search(ArrayView(tree.data(), DType::kFloat64, {2048}), ArrayView(values.data(), DType::kFloat64, {4}),
                          ArrayView(out.data(), DType::kInt64, {4}));
  DeviceVector<double> gvalues(values);
  DeviceVector<std::int64_t> gout{std::vector<std::int64_t>(4)};
  mlforge::sumtree_search(gtree.view(DType::kFloat64, {2048}), gvalues.view(DType::kFloat64, {4}), gout.view(DType::kInt64, {4}));
  EXPECT_EQ(gout.to_host(), out);
}

TEST(KernelsCuda, RobustAggregationAndHashingMatchCpu) {
  REQUIRE_GPU();
  const std::int64_t k = 10, d = 4099;
  std::vector<float> data(k * d);
  mlforge::fill_normal(ArrayView(data.data(), DType::kFloat32, {k * d}), 5, 0, 0, 100.0, 1.0);
  std::vector<ArrayView> cpu_rows, gpu_rows;
  DeviceVector<float> gpu_data(data);
  const auto all = gpu_data.view(DType::kFloat32, {k * d});
  for (std::int64_t r = 0; r < k; ++r) {
    cpu_rows.emplace_back(data.data() + r * d, DType::kFloat32, std::initializer_list<std::int64_t>{d});
    gpu_rows.emplace_back(static_cast<float*>(all.data()) + r * d, DType::kFloat32, std::initializer_list<std::int64_t>{d}, kGpu);
  }
  std::vector<float> median(d), trimmed(d);
  std::vector<double> distances(k * k), norms(k);
  mlforge::coordinate_median(cpu_rows, ArrayView(median.data(), DType::kFloat32, {d}));
  mlforge::coordinate_trimmed_mean(cpu_rows, 0.2, ArrayView(trimmed.data(), DType::kFloat32, {d}));
  mlforge::pairwise_sq_distances(cpu_rows, ArrayView(distances.data(), DType::kFloat64, {k, k}));
  mlforge::row_norms(cpu_rows, ArrayView(norms.data(), DType::kFloat64, {k}));
  DeviceVector<float> g_median{std::vector<float>(d)}, g_trimmed{std::vector<float>(d)};
  DeviceVector<double> g_distances{std::vector<double>(k * k)}, g_norms{std::vector<double>(k)};
  mlforge::coordinate_median(gpu_rows, g_median.view(DType::kFloat32, {d}));
  mlforge::coordinate_trimmed_mean(gpu_rows, 0.2, g_trimmed.view(DType::kFloat32, {d}));
  mlforge::pairwise_sq_distances(gpu_rows, g_distances.view(DType::kFloat64, {k, k}));
  mlforge::row_norms(gpu_rows, g_norms.view(DType::kFloat64, {k}));
  EXPECT_EQ(g_median.to_host(), median);
  const auto t = g_trimmed.to_host();
  for (std::int64_t i = 0; i < d; ++i) ASSERT_NEAR(t[i], trimmed[i], 1e-4);
  const auto dist = g_distances.to_host();
  // The CPU twin adds float32 tile dots in float64: within about 1e-5 relative (kernels.h).
  for (std::int64_t i = 0; i < k * k; ++i) ASSERT_NEAR(dist[i], distances[i], 1e-5 * (1 + distances[i]));
  const auto n = g_norms.to_host();
  for (std::int64_t i = 0; i < k; ++i) ASSERT_NEAR(n[i], norms[i], 1e-9 * norms[i]);

  std::vector<std::uint64_t> tokens(500);
  for (std::size_t i = 0; i < tokens.size(); ++i) tokens[i] = 0x9E3779B97F4A7C15ULL * (i + 1);
  std::vector<std::int64_t> offsets = {0, 100, 100, 350, 500};
  std::vector<std::uint64_t> signatures(4 * 64), fingerprints(4);
  mlforge::minhash(ArrayView(tokens.data(), DType::kUInt64, {500}), ArrayView(offsets.data(), DType::kInt64, {5}), 3,
                   ArrayView(signatures.data(), DType::kUInt64, {4, 64}));
  mlforge::simhash(ArrayView(tokens.data(), DType::kUInt64, {500}), ArrayView(offsets.data(), DType::kInt64, {5}),
                   ArrayView(fingerprints.data(), DType::kUInt64, {4}));
  DeviceVector<std::uint64_t> g_tokens(tokens), g_signatures{std::vector<std::uint64_t>(4 * 64)}, g_fingerprints{std::vector<std::uint64_t>(4)};
  DeviceVector<std::int64_t> g_offsets(offsets);
  mlforge::minhash(g_tokens.view(DType::kUInt64, {500}), g_offsets.view(DType::kInt64, {5}), 3,
                   g_signatures.view(DType::kUInt64, {4, 64}));
  mlforge::simhash(g_tokens.view(DType::kUInt64, {500}), g_offsets.view(DType::kInt64, {5}), g_fingerprints.view(DType::kUInt64, {4}));
  EXPECT_EQ(g_signatures.to_host(), signatures);
  EXPECT_EQ(g_fingerprints.to_host(), fingerprints);
}

}  // namespace
