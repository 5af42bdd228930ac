#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "replay_test_util.h"

using namespace replay_test;

TEST(UniformSampler, EveryLiveItemEquallyLikely) {
  Table table(scalar_config(8, Selector::kUniform));
  insert_values(table, {0, 1, 2, 3, 4, 5, 6, 7});
  std::map<double, int> counts;
  const int draws = 80000;
  for (int round = 0; round < draws / 1000; ++round) {
    const auto drawn = sample_values(table, 1000);
    for (std::size_t i = 0; i < drawn.values.size(); ++i) {
      ++counts[drawn.values[i]];
      EXPECT_DOUBLE_EQ(drawn.probabilities[i], 1.0 / 8);
      EXPECT_DOUBLE_EQ(drawn.weights[i], 1.0);
    }
  }
  double chi2 = 0;
  for (const auto& [value, count] : counts) chi2 += std::pow(count - draws / 8.0, 2) / (draws / 8.0);
  EXPECT_EQ(counts.size(), 8u);
  EXPECT_LT(chi2, 24.3);  // chi-square, 7 degrees of freedom, p = 0.001
}

TEST(UniformSampler, EvictedItemsAreNeverDrawn) {
  Table table(scalar_config(4, Selector::kUniform));
  insert_values(table, {1, 2, 3, 4, 5, 6});  // FIFO evicts 1 and 2
  for (double value : sample_values(table, 2000).values) EXPECT_GE(value, 3.0);
}
