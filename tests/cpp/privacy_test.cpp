#include "mlforge/privacy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "mlforge/error.h"
#include "mlforge/parallel.h"
#include "mlforge/random.h"

namespace {

using mlforge::ArrayView;
using mlforge::DType;

ArrayView f32(std::vector<float>& v) {
  return ArrayView(v.data(), DType::kFloat32, {static_cast<std::int64_t>(v.size())});
}
ArrayView f64(std::vector<double>& v) {
  return ArrayView(v.data(), DType::kFloat64, {static_cast<std::int64_t>(v.size())});
}

double norm_of(const std::vector<float>& v) {
  double s = 0.0;
  for (float x : v) s += static_cast<double>(x) * x;
  return std::sqrt(s);
}

std::vector<float> random_vector(std::size_t n, unsigned seed, float scale) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

TEST(ClipUpdates, ScalesOnlyUpdatesAboveTheBoundAndReportsPreClipNorms) {
  std::vector<float> big = random_vector(100003, 1, 1.0f), small = random_vector(100003, 2, 0.001f);
  const std::vector<float> big0 = big, small0 = small;
  std::vector<double> norms(2);
  mlforge::clip_updates({f32(big), f32(small)}, 5.0, f64(norms));
  EXPECT_NEAR(norms[0], norm_of(big0), 1e-9 * norm_of(big0));
  EXPECT_NEAR(norms[1], norm_of(small0), 1e-12);
  EXPECT_NEAR(norm_of(big), 5.0, 5.0 * 1e-6);
  EXPECT_EQ(small, small0);
  const double factor = 5.0 / norms[0];
  for (std::size_t i = 0; i < big.size(); i += 997) {
    EXPECT_EQ(big[i], static_cast<float>(static_cast<double>(big0[i]) * factor));
  }
}

TEST(ClipUpdates, NanNamesTheClientAndLeavesEveryUpdateUntouched) {
  std::vector<float> a = random_vector(1000, 3, 10.0f), b = random_vector(1000, 4, 10.0f);
  b[417] = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> a0 = a;
  std::vector<double> norms(2);
  try {
    mlforge::clip_updates({f32(a), f32(b)}, 1.0, f64(norms));
    FAIL() << "expected InvalidArgument";
  } catch (const mlforge::InvalidArgument& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("updates[1]"), std::string::npos) << message;
    EXPECT_NE(message.find("index 417"), std::string::npos) << message;
  }
  EXPECT_EQ(a, a0);  // checked before anything is modified
  EXPECT_THROW(mlforge::clip_updates({f32(a)}, 0.0, f64(norms)), mlforge::InvalidArgument);
  EXPECT_THROW(mlforge::clip_updates({f32(a)}, 1.0, f64(norms)), mlforge::InvalidArgument);  // norms has 2 entries
  EXPECT_THROW(mlforge::clip_updates({}, 1.0, f64(norms)), mlforge::InvalidArgument);
}

TEST(ClipLayers, FlatAndPerLayerNorms) {
  std::vector<float> w = random_vector(3000, 5, 1.0f), b = random_vector(70, 6, 0.1f);
  const std::vector<float> w0 = w, b0 = b;
  const double total = std::sqrt(norm_of(w0) * norm_of(w0) + norm_of(b0) * norm_of(b0));
  // Flat: one factor over both layers.
  const double before = mlforge::clip_update_layers({f32(w), f32(b)}, 2.0);
  EXPECT_NEAR(before, total, 1e-9 * total);
  EXPECT_NEAR(std::sqrt(norm_of(w) * norm_of(w) + norm_of(b) * norm_of(b)), 2.0, 2e-6);
  EXPECT_NEAR(b[3] / b0[3], w[3] / w0[3], 1e-6);
  // Per-layer: each layer against its own bound; the small layer is left alone.
  w = w0;
  b = b0;
  std::vector<double> bounds = {10.0, 5.0}, norms(2);
  mlforge::clip_layers({f32(w), f32(b)}, f64(bounds), f64(norms));
  EXPECT_NEAR(norms[0], norm_of(w0), 1e-9 * norm_of(w0));
  EXPECT_NEAR(norm_of(w), 10.0, 1e-5);
  EXPECT_EQ(b, b0);
  bounds[1] = -1.0;
  try {
    mlforge::clip_layers({f32(w), f32(b)}, f64(bounds), f64(norms));
    FAIL();
  } catch (const mlforge::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("clip_norms[1]"), std::string::npos) << e.what();
  }
}

TEST(GaussianNoise, EqualsFillNormalAddedInFloat64AndIsThreadCountFree) {
  const int before = mlforge::num_threads();
  std::vector<float> base = random_vector(100001, 7, 1.0f);
  std::vector<double> noise(base.size());
  mlforge::fill_normal(f64(noise), 99, 12, 0, 0.0, 0.5);
  std::vector<float> one = base, two = base;
  mlforge::set_num_threads(1);
  mlforge::add_gaussian_noise(f32(one), 0.5, 99, 12);
  mlforge::set_num_threads(2);
  mlforge::add_gaussian_noise(f32(two), 0.5, 99, 12);
  mlforge::set_num_threads(before);
  EXPECT_EQ(one, two);
  for (std::size_t i = 0; i < base.size(); ++i) {
    ASSERT_EQ(one[i], static_cast<float>(static_cast<double>(base[i]) + noise[i])) << i;
  }
  std::vector<float> other_round = base;
  mlforge::add_gaussian_noise(f32(other_round), 0.5, 99, 13);
  EXPECT_NE(other_round, one);
  EXPECT_THROW(mlforge::add_gaussian_noise(f32(one), -1.0, 1, 1), mlforge::InvalidArgument);
  EXPECT_THROW(mlforge::add_gaussian_noise(f32(one), std::nan(""), 1, 1), mlforge::InvalidArgument);
}

TEST(AdaptiveClipping, FollowsAndrewEtAl) {
  // Half the clients unclipped and gamma = 0.5: C stays; all unclipped: C shrinks by exp(-eta / 2).
  EXPECT_DOUBLE_EQ(mlforge::adaptive_clip_update(1.0, 5, 10, 0.5, 0.2, 0.0).clip_norm, 1.0);
  const auto shrink = mlforge::adaptive_clip_update(2.0, 10, 10, 0.5, 0.2, 0.0);
  EXPECT_DOUBLE_EQ(shrink.clip_norm, 2.0 * std::exp(-0.2 * 0.5));
  EXPECT_DOUBLE_EQ(shrink.noisy_fraction, 1.0);
  const auto noisy = mlforge::adaptive_clip_update(1.0, 3, 10, 0.5, 0.2, 1.5);
  EXPECT_DOUBLE_EQ(noisy.noisy_fraction, 0.45);
  EXPECT_DOUBLE_EQ(noisy.clip_norm, std::exp(-0.2 * (0.45 - 0.5)));
  EXPECT_THROW(mlforge::adaptive_clip_update(1.0, -1, 10, 0.5, 0.2, 0.0), mlforge::InvalidArgument);
  EXPECT_THROW(mlforge::adaptive_clip_update(1.0, 1, 0.0, 0.5, 0.2, 0.0), mlforge::InvalidArgument);
  EXPECT_THROW(mlforge::adaptive_clip_update(1.0, 1, 10, 1.5, 0.2, 0.0), mlforge::InvalidArgument);

  std::vector<double> norms = {0.5, 1.0, 1.5, 3.0};  // <= C: 0.5 and 1.0 (inclusive)
  const auto step = mlforge::adaptive_clip_step(f64(norms), 1.0, 0.5, 0.2, 0.0, 1, 1);
  EXPECT_EQ(step.unclipped, 2);
  EXPECT_DOUBLE_EQ(step.clip_norm, 1.0);
  const auto with_noise = mlforge::adaptive_clip_step(f64(norms), 1.0, 0.5, 0.2, 0.2, 8, 3);
  const double z = mlforge::CounterRng(8, 3).normal(std::numeric_limits<std::uint64_t>::max() - 3);
  EXPECT_DOUBLE_EQ(with_noise.noisy_fraction, (2.0 + 0.2 * z) / 4.0);
  norms[2] = std::nan("");
  EXPECT_THROW(mlforge::adaptive_clip_step(f64(norms), 1.0, 0.5, 0.2, 0.2, 8, 3), mlforge::InvalidArgument);
}

TEST(AdaptiveClipping, NoiseMultiplierSplit) {
  // z_delta = (z^-2 - (2 sigma_b)^-2)^(-1/2): z = 1, sigma_b = 5 -> (1 - 1/100)^(-1/2).
  EXPECT_DOUBLE_EQ(mlforge::adaptive_noise_multiplier(1.0, 5.0), 1.0 / std::sqrt(0.99));
  EXPECT_DOUBLE_EQ(mlforge::adaptive_noise_multiplier(0.0, 5.0), 0.0);
  EXPECT_THROW(mlforge::adaptive_noise_multiplier(1.0, 0.5), mlforge::InvalidArgument);
}

}  // namespace
