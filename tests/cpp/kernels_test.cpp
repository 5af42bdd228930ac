#include "mlforge/kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "mlforge/error.h"
#include "mlforge/parallel.h"

namespace {

using mlforge::ArrayView;
using mlforge::DType;

TEST(ReduceSum, MatchesLongDoubleReferenceForFloat32) {
  std::vector<float> values(1'000'003);
  long double reference = 0.0L;
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = static_cast<float>(std::cos(static_cast<double>(i)) * 100.0);
    reference += values[i];
  }
  const double sum = mlforge::reduce_sum(ArrayView(values.data(), DType::kFloat32, {1'000'003}));
  EXPECT_NEAR(sum, static_cast<double>(reference), 1e-9 * std::fabs(static_cast<double>(reference)) + 1e-6);
}

TEST(ReduceSum, CompensationSurvivesCancellation) {
  // 1e16 + 1 + ... - 1e16: naive float64 summation loses every 1.
  std::vector<double> values = {1e16};
  for (int i = 0; i < 1000; ++i) values.push_back(1.0);
  values.push_back(-1e16);
  EXPECT_EQ(mlforge::reduce_sum(ArrayView(values.data(), DType::kFloat64, {1002})), 1000.0);
}

TEST(ReduceSum, EmptyNanAndInfinity) {
  EXPECT_EQ(mlforge::reduce_sum(ArrayView(nullptr, DType::kFloat32, {0})), 0.0);
  std::vector<double> with_nan = {1.0, std::nan(""), 2.0};
  EXPECT_TRUE(std::isnan(mlforge::reduce_sum(ArrayView(with_nan.data(), DType::kFloat64, {3}))));
  std::vector<double> with_inf = {1.0, INFINITY, 2.0};
  EXPECT_EQ(mlforge::reduce_sum(ArrayView(with_inf.data(), DType::kFloat64, {3})), INFINITY);
}

TEST(ReduceSum, SameBitsForAnyThreadCount) {
  std::vector<float> values(3'000'000);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = 1.0f / static_cast<float>(i + 1);
  const ArrayView view(values.data(), DType::kFloat32, {3'000'000});
  const int saved = mlforge::num_threads();
  mlforge::set_num_threads(1);
  const double serial = mlforge::reduce_sum(view);
  mlforge::set_num_threads(5);
  const double parallel = mlforge::reduce_sum(view);
  mlforge::set_num_threads(saved);
  EXPECT_EQ(serial, parallel);
}

TEST(ReduceSum, RejectsWrongDtypeLayoutAndMissingCuda) {
  std::vector<std::int32_t> ints(4);
  EXPECT_THROW(mlforge::reduce_sum(ArrayView(ints.data(), DType::kInt32, {4})), mlforge::InvalidArgument);
  std::vector<float> values(8);
  const std::int64_t shape[] = {4};
  const std::int64_t stride[] = {2};
  EXPECT_THROW(mlforge::reduce_sum(ArrayView(values.data(), DType::kFloat32, 1, shape, stride)),
               mlforge::InvalidArgument);
  if (!mlforge::cuda_available()) {
    const ArrayView on_gpu(values.data(), DType::kFloat32, {8}, {mlforge::DeviceType::kCUDA, 0});
    EXPECT_THROW(mlforge::reduce_sum(on_gpu), mlforge::Unavailable);
  }
}

}  // namespace
