#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <numeric>

#include "mlforge/error.h"
#include "replay_test_util.h"

using namespace replay_test;

TEST(PrioritizedSampler, ProbabilitiesAndWeightsFollowThePaper) {
  auto config = scalar_config(5, Selector::kPrioritized);
  config.alpha = 0.6;
  config.beta = 0.4;
  config.epsilon = 0.0;
  Table table(config);
  const std::vector<double> priorities = {1, 2, 3, 4, 10};
  insert_values(table, {0, 1, 2, 3, 4}, &priorities);
  std::vector<double> w(5);
  for (int i = 0; i < 5; ++i) w[i] = std::pow(priorities[i], 0.6);
  const double total = std::accumulate(w.begin(), w.end(), 0.0);
  std::map<int, int> counts;
  const int draws = 100000;
  for (int round = 0; round < draws / 1000; ++round) {
    const auto drawn = sample_values(table, 1000);
    for (std::size_t i = 0; i < drawn.values.size(); ++i) {
      const int item = static_cast<int>(drawn.values[i]);
      ++counts[item];
      EXPECT_NEAR(drawn.probabilities[i], w[item] / total, 1e-12);
      // (N P(i))^-beta normalised by the largest possible weight (the least likely item's)
      EXPECT_NEAR(drawn.weights[i], std::pow((w[item] / total) / (w[0] / total), -0.4), 1e-12);
    }
  }
  double chi2 = 0;
  for (int i = 0; i < 5; ++i) chi2 += std::pow(counts[i] - draws * w[i] / total, 2) / (draws * w[i] / total);
  EXPECT_LT(chi2, 18.5);  // 4 degrees of freedom, p = 0.001
}

TEST(PrioritizedSampler, UpdatesMoveTheMassAndStaleKeysAreDropped) {
  auto config = scalar_config(2, Selector::kPrioritized);
  config.epsilon = 0.0;
  config.alpha = 1.0;
  Table table(config);
  const std::vector<double> zero_one = {0.0, 1.0};
  auto keys = insert_values(table, {0, 1}, &zero_one);
  for (double value : sample_values(table, 500).values) EXPECT_EQ(value, 1.0);
  const std::vector<double> flipped = {1.0, 0.0};
  EXPECT_EQ(table.update_priorities(keys.data(), flipped.data(), 2), 0);
  for (double value : sample_values(table, 500).values) EXPECT_EQ(value, 0.0);
  // item 0 leaves for item 2; an update for its key must not reach item 2, now in the same slot
  const std::vector<double> one = {1.0};
  insert_values(table, {2}, &one);
  const double zero = 0.0;
  EXPECT_EQ(table.update_priorities(&keys[0], &zero, 1), 1);
  EXPECT_EQ(table.stats().stale_updates, 1u);
  for (double value : sample_values(table, 500).values) EXPECT_EQ(value, 2.0);
}

TEST(PrioritizedSampler, BadPrioritiesAreRejectedBeforeAnythingChanges) {
  Table table(scalar_config(4, Selector::kPrioritized));
  auto keys = insert_values(table, {0, 1});
  for (double bad : {std::nan(""), -1.0, static_cast<double>(INFINITY)}) {
    const std::vector<double> priorities = {1.0, bad};
    EXPECT_THROW(table.update_priorities(keys.data(), priorities.data(), 2), mlforge::InvalidArgument);
    EXPECT_THROW(insert_values(table, {5, 6}, &priorities), mlforge::InvalidArgument);
  }
  EXPECT_EQ(table.size(), 2);
  const std::uint64_t never = keys[1] + (std::uint64_t{1} << 40);
  const double one = 1.0;
  EXPECT_THROW(table.update_priorities(&never, &one, 1), mlforge::OutOfRange);
  const auto drawn = sample_values(table, 64);
  for (double p : drawn.probabilities) EXPECT_NEAR(p, 0.5, 1e-12);  // untouched: equal default priorities
}

TEST(PrioritizedSampler, NewItemsGetTheLargestLivePriority) {
  auto config = scalar_config(3, Selector::kPrioritized);
  config.alpha = 1.0;
  config.epsilon = 0.0;
  Table table(config);
  const std::vector<double> priorities = {5.0};
  insert_values(table, {0}, &priorities);
  insert_values(table, {1});  // gets 5
  const auto drawn = sample_values(table, 200);
  for (double p : drawn.probabilities) EXPECT_NEAR(p, 0.5, 1e-12);
}

TEST(PrioritizedSampler, SumsDoNotDriftOverManyUpdates) {
  auto config = scalar_config(1000, Selector::kPrioritized);
  config.alpha = 1.0;
  config.epsilon = 0.0;
  Table table(config);
  std::vector<double> values(1000, 0.0);
  auto keys = insert_values(table, values);
  std::vector<double> priorities(1000);
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < 1000; ++i) priorities[i] = 1e-3 + std::fmod(round * 7919.0 + i * 104729.0, 1e6);
    table.update_priorities(keys.data(), priorities.data(), 1000);
  }
  for (int i = 0; i < 1000; ++i) priorities[i] = 1.0;
  table.update_priorities(keys.data(), priorities.data(), 1000);
  for (double p : sample_values(table, 100).probabilities) EXPECT_DOUBLE_EQ(p, 1e-3);
}
