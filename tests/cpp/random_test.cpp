#include "mlforge/random.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "mlforge/error.h"
#include "mlforge/parallel.h"

namespace {

// Known answers from numpy (an independent implementation of Philox4x64-10):
//   numpy.random.Philox(key=[7, 3], counter=[2**64 - 1] * 4).random_raw(8)
// numpy increments the counter before each block, so these are blocks 0 and 1 for key (7, 3).
TEST(Philox, MatchesNumpyKnownAnswers) {
  const mlforge::CounterRng rng(7, 3);
  const mlforge::PhiloxBlock block0 = rng.block(0);
  const mlforge::PhiloxBlock block1 = rng.block(1);
  EXPECT_EQ(block0[0], 0xa1190e8c2941dfafULL);
  EXPECT_EQ(block0[1], 0x7123ed095431578bULL);
  EXPECT_EQ(block0[2], 0x9aa61d78ff08533bULL);
  EXPECT_EQ(block0[3], 0x152dcf937105ea2dULL);
  EXPECT_EQ(block1[0], 0x7b6cc7b1862cc5f2ULL);
  EXPECT_EQ(block1[3], 0x50edb0d22a6a6fd5ULL);
  EXPECT_EQ(rng.bits(5), 0xb960f2ea4b3f8d9fULL);  // element 5 = block 1, word 1
}

TEST(Philox, SeedAndStreamSelectIndependentSequences) {
  EXPECT_NE(mlforge::CounterRng(1, 0).bits(0), mlforge::CounterRng(2, 0).bits(0));
  EXPECT_NE(mlforge::CounterRng(1, 0).bits(0), mlforge::CounterRng(1, 1).bits(0));
  EXPECT_EQ(mlforge::CounterRng(1, 1).bits(42), mlforge::CounterRng(1, 1).bits(42));
}

TEST(FillUniform, RangeMomentsAndOffsets) {
  std::vector<double> values(200000);
  mlforge::fill_uniform(mlforge::ArrayView(values.data(), mlforge::DType::kFloat64,
                                           {static_cast<std::int64_t>(values.size())}),
                        11, 0, 0, -2.0, 3.0);
  double sum = 0.0;
  for (double v : values) {
    ASSERT_GE(v, -2.0);
    ASSERT_LT(v, 3.0);
    sum += v;
  }
  EXPECT_NEAR(sum / static_cast<double>(values.size()), 0.5, 0.02);  // 5 sigma of U(-2, 3)

  // An offset continues the same sequence: element i of (offset = k) is element k + i of offset 0.
  std::vector<double> shifted(10);
  mlforge::fill_uniform(mlforge::ArrayView(shifted.data(), mlforge::DType::kFloat64, {10}), 11, 0, 1000, -2.0, 3.0);
  for (std::size_t i = 0; i < shifted.size(); ++i) EXPECT_EQ(shifted[i], values[1000 + i]);
}

TEST(FillNormal, MomentsMatchTheStandardNormal) {
  std::vector<float> values(400000);
  mlforge::fill_normal(mlforge::ArrayView(values.data(), mlforge::DType::kFloat32,
                                          {static_cast<std::int64_t>(values.size())}),
                       5, 9, 0);
  double sum = 0.0, squares = 0.0;
  for (float v : values) {
    sum += v;
    squares += static_cast<double>(v) * v;
  }
  const double n = static_cast<double>(values.size());
  const double mean = sum / n;
  EXPECT_NEAR(mean, 0.0, 5.0 / std::sqrt(n));
  EXPECT_NEAR(squares / n - mean * mean, 1.0, 0.01);
}

TEST(FillNormal, ThreadCountDoesNotChangeTheResult) {
  std::vector<double> serial(100003), parallel(100003);
  const int saved = mlforge::num_threads();
  mlforge::set_num_threads(1);
  mlforge::fill_normal(mlforge::ArrayView(serial.data(), mlforge::DType::kFloat64, {100003}), 3, 4, 5, 1.0, 2.0);
  mlforge::set_num_threads(4);
  mlforge::fill_normal(mlforge::ArrayView(parallel.data(), mlforge::DType::kFloat64, {100003}), 3, 4, 5, 1.0, 2.0);
  mlforge::set_num_threads(saved);
  EXPECT_EQ(serial, parallel);
}

TEST(FillRandom, RejectsBadOutputsAndParameters) {
  std::vector<double> data(4);
  const mlforge::ArrayView out(data.data(), mlforge::DType::kFloat64, {4});
  EXPECT_THROW(mlforge::fill_uniform(out, 0, 0, 0, 1.0, 1.0), mlforge::InvalidArgument);
  EXPECT_THROW(mlforge::fill_uniform(out, 0, 0, 0, NAN, 1.0), mlforge::InvalidArgument);
  EXPECT_THROW(mlforge::fill_normal(out, 0, 0, 0, 0.0, -1.0), mlforge::InvalidArgument);
  EXPECT_THROW(mlforge::fill_normal(out, 0, 0, 0, INFINITY, 1.0), mlforge::InvalidArgument);
  std::vector<std::int32_t> ints(4);
  EXPECT_THROW(mlforge::fill_normal(mlforge::ArrayView(ints.data(), mlforge::DType::kInt32, {4}), 0, 0, 0),
               mlforge::InvalidArgument);
  const mlforge::ArrayView read_only(data.data(), mlforge::DType::kFloat64, {4}, {}, false);
  EXPECT_THROW(mlforge::fill_uniform(read_only, 0, 0, 0), mlforge::InvalidArgument);
}

}  // namespace
