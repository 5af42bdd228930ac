#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "mlforge/aggregate.h"
#include "mlforge/error.h"

using mlforge::ArrayView;
using mlforge::DType;
using mlforge::StreamingAggregator;

TEST(StreamingAggregator, WeightedMeanWithClipping) {
  StreamingAggregator agg(2, /*clip_norm=*/5.0);
  std::vector<float> a = {6.0f, 8.0f}, b = {1.0f, 1.0f};
  EXPECT_DOUBLE_EQ(agg.add(ArrayView(a.data(), DType::kFloat32, {2}), 1.0), 0.5);  // norm 10 -> 5
  EXPECT_DOUBLE_EQ(agg.add(ArrayView(b.data(), DType::kFloat32, {2}), 3.0), 1.0);
  std::vector<double> mean(2);
  agg.mean(ArrayView(mean.data(), DType::kFloat64, {2}));
  EXPECT_DOUBLE_EQ(mean[0], (3.0 + 3.0) / 4.0);
  EXPECT_DOUBLE_EQ(mean[1], (4.0 + 3.0) / 4.0);
  EXPECT_EQ(agg.count(), 2);
  EXPECT_DOUBLE_EQ(agg.total_weight(), 4.0);
}

TEST(StreamingAggregator, RejectsBadUpdatesWithoutChangingState) {
  StreamingAggregator agg(3);
  std::vector<float> bad = {1.0f, NAN, 0.0f};
  EXPECT_THROW(agg.add(ArrayView(bad.data(), DType::kFloat32, {3})), mlforge::InvalidArgument);
  std::vector<double> wrong(3);
  EXPECT_THROW(agg.add(ArrayView(wrong.data(), DType::kFloat64, {3})), mlforge::InvalidArgument);
  EXPECT_EQ(agg.count(), 0);
  EXPECT_THROW(agg.mean(ArrayView(wrong.data(), DType::kFloat64, {3})), mlforge::InvalidArgument);  // no weight yet
  EXPECT_THROW(StreamingAggregator(0), mlforge::InvalidArgument);
}
