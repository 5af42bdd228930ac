// Many writers, samplers and priority updaters on one table at once (run under ThreadSanitizer in CI).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "mlforge/error.h"
#include "replay_test_util.h"

using namespace replay_test;

TEST(ReplayStress, ConcurrentWritersSamplersAndUpdaters) {
  auto config = scalar_config(256, Selector::kPrioritized);
  Table table(config);
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> sampled{0}, stale{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 3; ++w) {
    threads.emplace_back([&, w] {
      for (int round = 0; round < 300; ++round) {
        std::vector<double> values(16, w * 1e6 + round);
        insert_values(table, values);
      }
    });
  }
  for (int s = 0; s < 2; ++s) {
    threads.emplace_back([&] {
      while (!stop) {
        auto drawn = sample_values(table, 32, 1.0);
        std::vector<double> priorities(drawn.keys.size(), 2.0);
        stale += table.update_priorities(drawn.keys.data(), priorities.data(), 32);
        sampled += 32;
      }
    });
  }
  for (int w = 0; w < 3; ++w) threads[static_cast<std::size_t>(w)].join();
  stop = true;
  for (std::size_t i = 3; i < threads.size(); ++i) threads[i].join();
  const auto stats = table.stats();
  EXPECT_EQ(stats.inserts, 3u * 300 * 16);
  EXPECT_EQ(stats.size, 256);
  EXPECT_EQ(static_cast<std::int64_t>(stats.samples), sampled.load());
  EXPECT_EQ(static_cast<std::int64_t>(stats.stale_updates), stale.load());
}
