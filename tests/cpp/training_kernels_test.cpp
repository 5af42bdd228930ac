// Training kernels against direct float64 evaluations of their definitions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "mlforge/error.h"
#include "mlforge/kernels.h"
#include "mlforge/parallel.h"
#include "mlforge/random.h"

namespace {

using mlforge::ArrayView;
using mlforge::DType;

std::vector<float> random_logits(std::int64_t n, std::uint64_t seed, double scale) {
  std::vector<float> x(static_cast<std::size_t>(n));
  mlforge::fill_normal(ArrayView(x.data(), DType::kFloat32, {n}), seed, 0, 0, 0.0, scale);
  return x;
}

double reference_lse(const float* row, std::int64_t v) {
  double m = row[0];
  for (std::int64_t i = 1; i < v; ++i) m = std::max(m, static_cast<double>(row[i]));
  double s = 0.0;
  for (std::int64_t i = 0; i < v; ++i) s += std::exp(row[i] - m);
  return m + std::log(s);
}

struct Problem {
  std::int64_t b = 3, t = 5, v = 1000;
  std::vector<float> logits;
  std::vector<std::int64_t> targets;
  std::vector<float> mask;
  Problem() : logits(random_logits(b * t * v, 1, 4.0)), targets(static_cast<std::size_t>(b * t)), mask(targets.size()) {
    for (std::size_t i = 0; i < targets.size(); ++i) {
      targets[i] = static_cast<std::int64_t>((i * 7919) % static_cast<std::size_t>(v));
      mask[i] = (i % 4 == 3) ? 0.0f : 1.0f;
      if (mask[i] == 0.0f) targets[i] = -100;  // padding label: must be ignored, not indexed
    }
  }
  ArrayView logits_view() { return ArrayView(logits.data(), DType::kFloat32, {b, t, v}); }
  ArrayView targets_view() { return ArrayView(targets.data(), DType::kInt64, {b, t}); }
  ArrayView mask_view() { return ArrayView(mask.data(), DType::kFloat32, {b, t}); }
};

TEST(SequenceLogprobs, ForwardMatchesFloat64Definition) {
  Problem p;
  std::vector<float> seq(3), lse(15);
  mlforge::sequence_logprobs(p.logits_view(), p.targets_view(), p.mask_view(), ArrayView(seq.data(), DType::kFloat32, {3}),
                             ArrayView(lse.data(), DType::kFloat32, {3, 5}));
  for (std::int64_t b = 0; b < p.b; ++b) {
    double expected = 0.0;
    for (std::int64_t t = 0; t < p.t; ++t) {
      const std::int64_t i = b * p.t + t;
      if (p.mask[static_cast<std::size_t>(i)] == 0.0f) continue;
      const float* row = p.logits.data() + i * p.v;
      const double row_lse = reference_lse(row, p.v);
      EXPECT_NEAR(lse[static_cast<std::size_t>(i)], row_lse, 1e-5 * std::fabs(row_lse));
      expected += row[p.targets[static_cast<std::size_t>(i)]] - row_lse;
    }
    EXPECT_NEAR(seq[static_cast<std::size_t>(b)], expected, 1e-5 * std::fabs(expected));
  }
}

TEST(SequenceLogprobs, BackwardMatchesSoftmaxDefinition) {
  Problem p;
  std::vector<float> seq(3), lse(15), grad_seq = {1.0f, -0.5f, 2.0f}, grad(p.logits.size());
  mlforge::sequence_logprobs(p.logits_view(), p.targets_view(), p.mask_view(), ArrayView(seq.data(), DType::kFloat32, {3}),
                             ArrayView(lse.data(), DType::kFloat32, {3, 5}));
  mlforge::sequence_logprobs_backward(p.logits_view(), p.targets_view(), p.mask_view(),
                                      ArrayView(lse.data(), DType::kFloat32, {3, 5}),
                                      ArrayView(grad_seq.data(), DType::kFloat32, {3}),
                                      ArrayView(grad.data(), DType::kFloat32, {3, 5, 1000}));
  for (std::int64_t i = 0; i < p.b * p.t; ++i) {
    const float* row = p.logits.data() + i * p.v;
    const double row_lse = reference_lse(row, p.v);
    const double m = p.mask[static_cast<std::size_t>(i)];
    const double g = grad_seq[static_cast<std::size_t>(i / p.t)];
    for (std::int64_t v = 0; v < p.v; v += 37) {
      const double onehot = (m != 0.0 && v == p.targets[static_cast<std::size_t>(i)]) ? 1.0 : 0.0;
      const double expected = g * m * (onehot - std::exp(row[v] - row_lse));
      ASSERT_NEAR(grad[static_cast<std::size_t>(i * p.v + v)], expected, 1e-6 + 1e-5 * std::fabs(expected));
    }
    if (m != 0.0) {
      const std::int64_t y = p.targets[static_cast<std::size_t>(i)];
      const double expected = g * (1.0 - std::exp(row[y] - row_lse));
      EXPECT_NEAR(grad[static_cast<std::size_t>(i * p.v + y)], expected, 1e-6 + 1e-5 * std::fabs(expected));
    }
  }
}

TEST(SequenceLogprobs, Bfloat16LogitsMatchTheirFloat32Values) {
  Problem p;
  std::vector<std::uint16_t> half(p.logits.size());
  for (std::size_t i = 0; i < half.size(); ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, &p.logits[i], 4);
    half[i] = static_cast<std::uint16_t>(bits >> 16);  // truncate: exact bf16 values
    bits = static_cast<std::uint32_t>(half[i]) << 16;
    std::memcpy(&p.logits[i], &bits, 4);
  }
  std::vector<float> seq32(3), seq16(3), lse(15);
  mlforge::sequence_logprobs(p.logits_view(), p.targets_view(), p.mask_view(),
                             ArrayView(seq32.data(), DType::kFloat32, {3}), ArrayView(lse.data(), DType::kFloat32, {3, 5}));
  mlforge::sequence_logprobs(ArrayView(half.data(), DType::kBFloat16, {3, 5, 1000}), p.targets_view(), p.mask_view(),
                             ArrayView(seq16.data(), DType::kFloat32, {3}), ArrayView(lse.data(), DType::kFloat32, {3, 5}));
  EXPECT_EQ(seq32, seq16);
}

TEST(SequenceLogprobs, IdenticalForAnyThreadCount) {
  Problem p;
  std::vector<float> a(3), b(3), lse(15);
  const int saved = mlforge::num_threads();
  mlforge::set_num_threads(1);
  mlforge::sequence_logprobs(p.logits_view(), p.targets_view(), p.mask_view(), ArrayView(a.data(), DType::kFloat32, {3}),
                             ArrayView(lse.data(), DType::kFloat32, {3, 5}));
  mlforge::set_num_threads(4);
  mlforge::sequence_logprobs(p.logits_view(), p.targets_view(), p.mask_view(), ArrayView(b.data(), DType::kFloat32, {3}),
                             ArrayView(lse.data(), DType::kFloat32, {3, 5}));
  mlforge::set_num_threads(saved);
  EXPECT_EQ(a, b);
}

TEST(SequenceLogprobs, RejectsTargetsOutsideTheVocabularyWhereMasked) {
  Problem p;
  p.targets[1] = 1000;
  std::vector<float> seq(3), lse(15);
  try {
    mlforge::sequence_logprobs(p.logits_view(), p.targets_view(), p.mask_view(),
                               ArrayView(seq.data(), DType::kFloat32, {3}), ArrayView(lse.data(), DType::kFloat32, {3, 5}));
    FAIL();
  } catch (const mlforge::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("targets[0, 1] = 1000 is outside the vocabulary [0, 1000)"), std::string::npos);
  }
}

TEST(DpoLoss, ValuesAtInitialisationAndSlopes) {
  const double beta = 0.1;
  std::vector<double> zeros(2, -3.0), losses(2), slopes(2);
  const ArrayView z(zeros.data(), DType::kFloat64, {2});
  const ArrayView l(losses.data(), DType::kFloat64, {2});
  const ArrayView s(slopes.data(), DType::kFloat64, {2});
  mlforge::dpo_loss(z, z, z, z, beta, mlforge::DpoLoss::kSigmoid, 0.0, l, s);
  EXPECT_NEAR(losses[0], std::log(2.0), 1e-15);
  EXPECT_NEAR(slopes[0], -beta / 2.0, 1e-15);
  mlforge::dpo_loss(z, z, z, z, beta, mlforge::DpoLoss::kIpo, 0.0, l, s);
  EXPECT_NEAR(losses[0], 1.0 / (4 * beta * beta), 1e-12);
  mlforge::dpo_loss(z, z, z, z, beta, mlforge::DpoLoss::kHinge, 0.0, l, s);
  EXPECT_EQ(losses[0], 1.0);
  EXPECT_EQ(slopes[0], -beta);

  // Slopes against central differences for every loss type away from kinks.
  for (auto type : {mlforge::DpoLoss::kSigmoid, mlforge::DpoLoss::kIpo, mlforge::DpoLoss::kHinge,
                    mlforge::DpoLoss::kRobust}) {
    std::vector<double> chosen = {1.3, -2.0}, rejected = {0.2, 0.7}, ref = {0.0, 0.0};
    const ArrayView c(chosen.data(), DType::kFloat64, {2});
    const ArrayView r(rejected.data(), DType::kFloat64, {2});
    const ArrayView q(ref.data(), DType::kFloat64, {2});
    mlforge::dpo_loss(c, r, q, q, 0.5, type, 0.1, l, s);
    const std::vector<double> base = losses, slope = slopes;
    const double h = 1e-6;
    chosen[0] += h;
    chosen[1] += h;
    mlforge::dpo_loss(c, r, q, q, 0.5, type, 0.1, l, s);
    for (int i = 0; i < 2; ++i) EXPECT_NEAR((losses[i] - base[i]) / h, slope[i], 1e-4) << static_cast<int>(type);
  }
}

TEST(DpoLoss, SigmoidLossMatchesLibmAcrossTheWholeRange) {
  // The kernel's own vectorisable exp and log1p against libm: x from -1e4 to 1e4 (beta 0.5), dense
  // near 0 and out to where the softplus underflows, including the clamp at |z| = 708.
  std::vector<double> x;
  for (double magnitude = 1e-9; magnitude < 1e4; magnitude *= 1.0007) {
    x.push_back(magnitude);
    x.push_back(-magnitude);
  }
  x.push_back(0.0);
  const auto n = static_cast<std::int64_t>(x.size());
  std::vector<double> zeros(x.size(), 0.0), losses(x.size()), slopes(x.size());
  const double beta = 0.5, eps = 0.1;
  mlforge::dpo_loss(ArrayView(x.data(), DType::kFloat64, {n}), ArrayView(zeros.data(), DType::kFloat64, {n}),
                    ArrayView(zeros.data(), DType::kFloat64, {n}), ArrayView(zeros.data(), DType::kFloat64, {n}), beta,
                    mlforge::DpoLoss::kSigmoid, eps, ArrayView(losses.data(), DType::kFloat64, {n}),
                    ArrayView(slopes.data(), DType::kFloat64, {n}));
  const auto log_sigmoid = [](double z) { return z >= 0 ? -std::log1p(std::exp(-z)) : z - std::log1p(std::exp(z)); };
  const auto sigmoid = [](double z) { return z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z)); };
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double z = beta * x[i];
    const double loss = -(1.0 - eps) * log_sigmoid(z) - eps * log_sigmoid(-z);
    const double slope = beta * (-(1.0 - eps) * sigmoid(-z) + eps * sigmoid(z));
    const double tolerance = 8e-16 * std::fabs(loss) + (std::fabs(z) > 700 ? 1e-300 : 0.0);
    ASSERT_NEAR(losses[i], loss, tolerance) << "x = " << x[i];
    // The slope subtracts two terms: its error scales with their sum, not with the difference.
    const double terms = beta * ((1.0 - eps) * sigmoid(-z) + eps * sigmoid(z));
    ASSERT_NEAR(slopes[i], slope, 8e-16 * terms) << "x = " << x[i];
  }
}

TEST(DpoLoss, RejectsBadParametersAndNonFiniteInputs) {
  std::vector<double> x(2, 0.0), out(2), out2(2);
  const ArrayView v(x.data(), DType::kFloat64, {2});
  const ArrayView l(out.data(), DType::kFloat64, {2});
  const ArrayView s(out2.data(), DType::kFloat64, {2});
  EXPECT_THROW(mlforge::dpo_loss(v, v, v, v, 0.0, mlforge::DpoLoss::kSigmoid, 0.0, l, s), mlforge::InvalidArgument);
  EXPECT_THROW(mlforge::dpo_loss(v, v, v, v, 0.1, mlforge::DpoLoss::kRobust, 0.5, l, s), mlforge::InvalidArgument);
  EXPECT_THROW(mlforge::dpo_loss(v, v, v, v, 0.1, static_cast<mlforge::DpoLoss>(9), 0.0, l, s), mlforge::InvalidArgument);
  x[1] = NAN;
  EXPECT_THROW(mlforge::dpo_loss(v, v, v, v, 0.1, mlforge::DpoLoss::kSigmoid, 0.0, l, s), mlforge::InvalidArgument);
}

TEST(Gae, MatchesTheRecursionWithEpisodeBoundaries) {
  const std::int64_t b = 2, t = 6;
  std::vector<float> rewards = random_logits(b * t, 3, 1.0), values = random_logits(b * (t + 1), 4, 1.0);
  std::vector<std::uint8_t> dones(static_cast<std::size_t>(b * t), 0);
  dones[2] = 1;
  dones[t + 5] = 1;
  std::vector<float> adv(static_cast<std::size_t>(b * t)), ret(adv.size());
  const double gamma = 0.99, lambda = 0.95;
  mlforge::gae(ArrayView(rewards.data(), DType::kFloat32, {b, t}), ArrayView(values.data(), DType::kFloat32, {b, t + 1}),
               ArrayView(dones.data(), DType::kUInt8, {b, t}), gamma, lambda, ArrayView(adv.data(), DType::kFloat32, {b, t}),
               ArrayView(ret.data(), DType::kFloat32, {b, t}));
  for (std::int64_t row = 0; row < b; ++row) {
    for (std::int64_t step = 0; step < t; ++step) {
      // Direct sum: A_t = sum_k (gamma lambda)^k delta_{t+k}, stopping after the first done.
      double expected = 0.0, discount = 1.0;
      for (std::int64_t k = step; k < t; ++k) {
        const std::size_t i = static_cast<std::size_t>(row * t + k);
        const double next = dones[i] ? 0.0 : values[static_cast<std::size_t>(row * (t + 1) + k + 1)];
        expected += discount * (rewards[i] + gamma * next - values[static_cast<std::size_t>(row * (t + 1) + k)]);
        if (dones[i]) break;
        discount *= gamma * lambda;
      }
      const std::size_t i = static_cast<std::size_t>(row * t + step);
      EXPECT_NEAR(adv[i], expected, 1e-5);
      EXPECT_NEAR(ret[i], expected + values[static_cast<std::size_t>(row * (t + 1) + step)], 1e-5);
    }
  }
  EXPECT_THROW(mlforge::gae(ArrayView(rewards.data(), DType::kFloat32, {b, t}),
                            ArrayView(values.data(), DType::kFloat32, {b, t}), ArrayView(dones.data(), DType::kUInt8, {b, t}),
                            gamma, lambda, ArrayView(adv.data(), DType::kFloat32, {b, t}),
                            ArrayView(ret.data(), DType::kFloat32, {b, t})),
               mlforge::InvalidArgument);
}

TEST(StreamTriad, ComputesAndValidates) {
  std::vector<double> a(100000), b(100000, 1.0), c(100000, 2.0);
  mlforge::stream_triad(ArrayView(a.data(), DType::kFloat64, {100000}), ArrayView(b.data(), DType::kFloat64, {100000}),
                        ArrayView(c.data(), DType::kFloat64, {100000}), 3.0);
  for (double x : a) ASSERT_EQ(x, 7.0);
  EXPECT_THROW(mlforge::stream_triad(ArrayView(a.data(), DType::kFloat64, {10}), ArrayView(b.data(), DType::kFloat64, {11}),
                                     ArrayView(c.data(), DType::kFloat64, {10}), 1.0),
               mlforge::InvalidArgument);
}

}  // namespace
