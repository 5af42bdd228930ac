#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "mlforge/error.h"
#include "replay_test_util.h"

using namespace replay_test;

TEST(Reservoir, EveryStreamItemEndsUpInTheTableWithProbabilityCapacityOverN) {
  // Algorithm R keeps each of N stream items with probability k / N.
  const int capacity = 10, stream = 100, trials = 4000;
  std::vector<int> kept(stream, 0);
  for (int trial = 0; trial < trials; ++trial) {
    auto config = scalar_config(capacity, Selector::kReservoir, Selector::kReservoir);
    config.seed = static_cast<std::uint64_t>(trial);
    Table table(config);
    std::vector<double> values(stream);
    for (int i = 0; i < stream; ++i) values[i] = i;
    const auto keys = insert_values(table, values);
    std::vector<double> seen(capacity);
    ArrayView column(seen.data(), DType::kFloat64, {capacity});
    std::vector<std::uint64_t> live;
    for (auto key : keys) {
      std::vector<double> one(1);
      ArrayView out(one.data(), DType::kFloat64, {1});
      try {
        table.gather(&key, 1, &out, 1);
        ++kept[static_cast<std::size_t>(one[0])];
      } catch (const mlforge::OutOfRange&) {
      }
    }
    EXPECT_EQ(table.size(), capacity);
    EXPECT_EQ(table.stats().inserts, static_cast<std::uint64_t>(stream));
  }
  const double expected = trials * static_cast<double>(capacity) / stream;
  double chi2 = 0;
  for (int count : kept) chi2 += std::pow(count - expected, 2) / expected;
  EXPECT_LT(chi2, 148.2);  // chi-square-like bound, 99 degrees of freedom, p = 0.001
}

TEST(Reservoir, SamplerNeedsTheReservoirRemover) {
  EXPECT_THROW(Table(scalar_config(4, Selector::kReservoir, Selector::kFifo)), mlforge::InvalidArgument);
}
