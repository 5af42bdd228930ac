#include <gtest/gtest.h>

#include "mlforge/error.h"
#include "replay_test_util.h"

using namespace replay_test;
using mlforge::replay::RateLimiter;

TEST(FifoSampler, QueueHandsOutItemsOnceInOrder) {
  auto config = scalar_config(4, Selector::kFifo);
  config.max_times_sampled = 1;
  config.rate_limiter = RateLimiter::queue(4);
  Table table(config);
  insert_values(table, {1, 2, 3});
  EXPECT_EQ(sample_values(table, 2).values, (std::vector<double>{1, 2}));
  insert_values(table, {4, 5, 6});
  EXPECT_THROW(insert_values(table, {7}), mlforge::Timeout);  // full queue: 4 waiting items
  EXPECT_EQ(sample_values(table, 4).values, (std::vector<double>{3, 4, 5, 6}));
  EXPECT_THROW(sample_values(table, 1), mlforge::Timeout);  // empty queue
}

TEST(LifoSampler, StackHandsOutTheNewestFirst) {
  auto config = scalar_config(4, Selector::kLifo, Selector::kLifo);
  config.max_times_sampled = 1;
  config.rate_limiter = RateLimiter::stack(4);
  Table table(config);
  insert_values(table, {1, 2, 3});
  EXPECT_EQ(sample_values(table, 2).values, (std::vector<double>{3, 2}));
}

TEST(FifoRemover, EvictsTheOldestAndLifoRemoverTheNewest) {
  Table fifo(scalar_config(3, Selector::kFifo, Selector::kFifo));
  insert_values(fifo, {1, 2, 3, 4});  // 1 leaves for 4
  EXPECT_EQ(sample_values(fifo, 1).values[0], 2.0);
  Table lifo(scalar_config(3, Selector::kFifo, Selector::kLifo));
  insert_values(lifo, {1, 2, 3, 4});  // 3 leaves for 4
  EXPECT_EQ(sample_values(lifo, 1).values[0], 1.0);
  Table newest(scalar_config(3, Selector::kLifo, Selector::kLifo));
  insert_values(newest, {1, 2, 3, 4});
  EXPECT_EQ(sample_values(newest, 1).values[0], 4.0);
}
