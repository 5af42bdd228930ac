#include "mlforge/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "mlforge/error.h"

namespace {

// Restores the pool size after each test so tests do not leak configuration.
class Parallel : public ::testing::Test {
 protected:
  void SetUp() override { saved_ = mlforge::num_threads(); }
  void TearDown() override { mlforge::set_num_threads(saved_); }
  int saved_ = 1;
};

TEST_F(Parallel, EveryIndexVisitedExactlyOnce) {
  mlforge::set_num_threads(4);
  std::vector<std::atomic<int>> hits(100001);
  mlforge::parallel_for(0, 100001, 7, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) hits[static_cast<std::size_t>(i)]++;
  });
  for (const auto& h : hits) ASSERT_EQ(h.load(), 1);
}

TEST_F(Parallel, ChunkingDependsOnlyOnRangeAndGrain) {
  EXPECT_EQ(mlforge::parallel_chunk_count(0, 0, 10), 0);
  EXPECT_EQ(mlforge::parallel_chunk_count(0, 95, 10), 10);
  EXPECT_EQ(mlforge::parallel_chunk_count(0, 1 << 30, 1), mlforge::kMaxChunks);
  EXPECT_THROW(mlforge::parallel_chunk_count(0, 10, 0), mlforge::InvalidArgument);
}

TEST_F(Parallel, FloatReductionIsBitIdenticalForAnyThreadCount) {
  // Summing floats in a different order changes the last bits, so this fails if chunking or the
  // combine order ever depends on the number of threads.
  std::vector<float> values(1 << 20);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = std::sin(static_cast<float>(i)) * 1e3f;
  auto reduce = [&] {
    return mlforge::parallel_reduce(
        std::int64_t{0}, static_cast<std::int64_t>(values.size()), 1000, 0.0f,
        [&](std::int64_t lo, std::int64_t hi) {
          float s = 0.0f;
          for (std::int64_t i = lo; i < hi; ++i) s += values[static_cast<std::size_t>(i)];
          return s;
        },
        [](float a, float b) { return a + b; });
  };
  mlforge::set_num_threads(1);
  const float serial = reduce();
  for (int threads : {2, 3, 8}) {
    mlforge::set_num_threads(threads);
    EXPECT_EQ(reduce(), serial) << threads << " threads";
  }
}

TEST_F(Parallel, FirstExceptionPropagatesToCaller) {
  mlforge::set_num_threads(4);
  std::atomic<int> ran{0};
  EXPECT_THROW(mlforge::parallel_for(0, 1000, 1,
                                     [&](std::int64_t lo, std::int64_t) {
                                       ran++;
                                       if (lo == 500) throw mlforge::OutOfRange("chunk 500");
                                     }),
               mlforge::OutOfRange);
  EXPECT_GE(ran.load(), 1);
  // The pool is still usable afterwards.
  std::atomic<std::int64_t> total{0};
  mlforge::parallel_for(0, 100, 1, [&](std::int64_t lo, std::int64_t hi) { total += hi - lo; });
  EXPECT_EQ(total.load(), 100);
}

TEST_F(Parallel, NestedCallsRunWithoutDeadlock) {
  mlforge::set_num_threads(3);
  std::atomic<std::int64_t> total{0};
  mlforge::parallel_for(0, 16, 1, [&](std::int64_t, std::int64_t) {
    mlforge::parallel_for(0, 100, 1, [&](std::int64_t lo, std::int64_t hi) { total += hi - lo; });
  });
  EXPECT_EQ(total.load(), 1600);
}

TEST_F(Parallel, ResizingFromInsideAParallelBodyIsRefusedNotDeadlocked) {
  mlforge::set_num_threads(2);
  std::atomic<int> refused{0};
  mlforge::parallel_for(0, 4, 1, [&](std::int64_t, std::int64_t) {
    try {
      mlforge::set_num_threads(3);
    } catch (const mlforge::InvalidArgument&) {
      refused++;
    }
    EXPECT_EQ(mlforge::num_threads(), 2);
  });
  EXPECT_EQ(refused.load(), 4);
}

TEST_F(Parallel, ConcurrentCallersShareThePool) {
  mlforge::set_num_threads(3);
  std::vector<std::thread> callers;
  std::atomic<std::int64_t> total{0};
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      for (int rep = 0; rep < 50; ++rep)
        mlforge::parallel_for(0, 1000, 10, [&](std::int64_t lo, std::int64_t hi) { total += hi - lo; });
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(total.load(), 4 * 50 * 1000);
}

TEST_F(Parallel, ForkedChildGetsAWorkingPool) {
  mlforge::set_num_threads(3);
  std::atomic<std::int64_t> warm{0};
  mlforge::parallel_for(0, 1000, 10, [&](std::int64_t lo, std::int64_t hi) { warm += hi - lo; });
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    alarm(20);  // a hang (joining the parent's threads, which do not exist here) becomes a failure
    mlforge::set_num_threads(2);  // replaces the pool: must not touch the parent's workers
    std::atomic<std::int64_t> total{0};
    mlforge::parallel_for(0, 100000, 10, [&](std::int64_t lo, std::int64_t hi) { total += hi - lo; });
    _exit(total.load() == 100000 && mlforge::num_threads() >= 1 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(Parallel, ThreadCountValidation) {
  EXPECT_THROW(mlforge::set_num_threads(0), mlforge::InvalidArgument);
  EXPECT_THROW(mlforge::set_num_threads(100000), mlforge::InvalidArgument);
  mlforge::set_num_threads(2);
  EXPECT_EQ(mlforge::num_threads(), 2);
}

}  // namespace
