#include <gtest/gtest.h>

#include "replay_test_util.h"

using namespace replay_test;

TEST(HeapSampler, MaxAndMinPriorityWithOldestFirstOnTies) {
  const std::vector<double> priorities = {3, 9, 1, 9, 1};
  Table max_heap(scalar_config(8, Selector::kMaxHeap));
  auto keys = insert_values(max_heap, {0, 1, 2, 3, 4}, &priorities);
  EXPECT_EQ(sample_values(max_heap, 3).values, (std::vector<double>{1, 1, 1}));
  const double low = 0.5;
  max_heap.update_priorities(&keys[1], &low, 1);
  EXPECT_EQ(sample_values(max_heap, 1).values[0], 3.0);
  Table min_heap(scalar_config(8, Selector::kMinHeap));
  insert_values(min_heap, {0, 1, 2, 3, 4}, &priorities);
  EXPECT_EQ(sample_values(min_heap, 1).values[0], 2.0);
}

TEST(MinHeapRemover, EvictsTheLowestPriority) {
  Table table(scalar_config(3, Selector::kUniform, Selector::kMinHeap));
  const std::vector<double> priorities = {5, 1, 7, 6};
  insert_values(table, {0, 1, 2, 3}, &priorities);  // item 1 (priority 1) leaves for item 3
  EXPECT_EQ(table.size(), 3);
  for (double value : sample_values(table, 500).values) EXPECT_NE(value, 1.0);
}
