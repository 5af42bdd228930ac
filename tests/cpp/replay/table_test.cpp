#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "mlforge/error.h"
#include "replay_test_util.h"

using namespace replay_test;
using mlforge::replay::FieldSpec;
using mlforge::replay::RateLimiter;
using mlforge::replay::SampleBuffers;

TEST(ReplayTable, ConfigurationErrorsNameTheSetting) {
  auto expect_invalid = [](TableConfig config, const char* needle) {
    try {
      Table table(std::move(config));
      FAIL() << "accepted a bad configuration: " << needle;
    } catch (const mlforge::InvalidArgument& error) {
      EXPECT_NE(std::string(error.what()).find(needle), std::string::npos) << error.what();
    }
  };
  auto base = scalar_config(8, Selector::kUniform);
  auto c = base; c.capacity = 0; expect_invalid(c, "capacity");
  c = base; c.fields.push_back({"x", DType::kInt64, {}}); expect_invalid(c, "appears twice");
  c = base; c.fields[0].shape = {0}; expect_invalid(c, "dimension");
  c = base; c.alpha = NAN; expect_invalid(c, "alpha");
  c = base; c.remover = Selector::kPrioritized; expect_invalid(c, "remover");
  c = base; c.rate_limiter.min_size_to_sample = 9; expect_invalid(c, "min_size_to_sample");
  c = base; c.rate_limiter.min_diff = 0; c.rate_limiter.max_diff = 0.5; expect_invalid(c, "deadlock");
  c = base; c.episode_end_field = "nope"; expect_invalid(c, "episode_end_field");
  c = base; c.sequence_length = 2; c.remover = Selector::kLifo; expect_invalid(c, "fifo remover");
  EXPECT_THROW(RateLimiter::sample_to_insert_ratio(4.0, 10, 7.0), mlforge::InvalidArgument);  // < 2 * 4
  EXPECT_NO_THROW(RateLimiter::sample_to_insert_ratio(4.0, 10, 8.0));
}

TEST(ReplayTable, MultiFieldBatchesRoundTripWithUniqueKeys) {
  TableConfig config;
  config.capacity = 100;
  config.sampler = Selector::kFifo;
  config.fields = {{"obs", DType::kFloat32, {3}}, {"action", DType::kInt64, {}}, {"done", DType::kBool, {}}};
  Table table(config);
  std::vector<float> obs = {0, 1, 2, 10, 11, 12};
  std::vector<std::int64_t> action = {7, 8};
  std::vector<std::uint8_t> done = {0, 1};
  ArrayView in[3] = {ArrayView(obs.data(), DType::kFloat32, {2, 3}), ArrayView(action.data(), DType::kInt64, {2}),
                     ArrayView(done.data(), DType::kBool, {2})};
  std::vector<std::uint64_t> keys(2);
  table.insert(in, 3, nullptr, 2, keys.data(), 0);
  EXPECT_NE(keys[0], keys[1]);
  std::vector<float> obs_out(6);
  std::vector<std::int64_t> action_out(2);
  std::vector<std::uint8_t> done_out(2);
  ArrayView out[3] = {ArrayView(obs_out.data(), DType::kFloat32, {2, 3}), ArrayView(action_out.data(), DType::kInt64, {2}),
                      ArrayView(done_out.data(), DType::kBool, {2})};
  std::vector<std::uint64_t> reversed = {keys[1], keys[0]};
  table.gather(reversed.data(), 2, out, 3);
  EXPECT_EQ(obs_out, (std::vector<float>{10, 11, 12, 0, 1, 2}));
  EXPECT_EQ(action_out, (std::vector<std::int64_t>{8, 7}));
  EXPECT_EQ(done_out, (std::vector<std::uint8_t>{1, 0}));
}

TEST(ReplayTable, WrongDtypeShapeOrCountIsAClearError) {
  TableConfig config = scalar_config(4, Selector::kUniform);
  config.fields[0].shape = {2};
  Table table(config);
  std::vector<double> good(4), small(3);
  std::vector<float> floats(4);
  std::vector<std::uint64_t> keys(2);
  ArrayView wrong_dtype(floats.data(), DType::kFloat32, {2, 2});
  ArrayView wrong_shape(small.data(), DType::kFloat64, {1, 3});
  ArrayView right(good.data(), DType::kFloat64, {2, 2});
  EXPECT_THROW(table.insert(&wrong_dtype, 1, nullptr, 2, keys.data(), 0), mlforge::InvalidArgument);
  EXPECT_THROW(table.insert(&wrong_shape, 1, nullptr, 1, keys.data(), 0), mlforge::InvalidArgument);
  EXPECT_THROW(table.insert(&right, 1, nullptr, 3, keys.data(), 0), mlforge::InvalidArgument);
  EXPECT_THROW(table.insert(&right, 2, nullptr, 2, keys.data(), 0), mlforge::InvalidArgument);
  EXPECT_EQ(table.size(), 0);
}

TEST(ReplayTable, SamplingEmptyTimesOutAndWakesWhenDataArrives) {
  Table table(scalar_config(4, Selector::kUniform));
  const auto started = std::chrono::steady_clock::now();
  EXPECT_THROW(sample_values(table, 1, 0.05), mlforge::Timeout);
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(40));
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    insert_values(table, {42});
  });
  EXPECT_EQ(sample_values(table, 1, -1.0).values[0], 42.0);  // blocks until the writer inserts
  writer.join();
}

TEST(ReplayTable, CloseWakesBlockedCallers) {
  Table table(scalar_config(4, Selector::kUniform));
  std::thread closer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    table.close();
  });
  EXPECT_THROW(sample_values(table, 1, -1.0), mlforge::Unavailable);
  closer.join();
  EXPECT_THROW(insert_values(table, {1}), mlforge::Unavailable);
}

TEST(ReplayTable, SampleToInsertRatioKeepsTheCursorInItsWindow) {
  auto config = scalar_config(1000, Selector::kUniform);
  config.rate_limiter = RateLimiter::sample_to_insert_ratio(2.0, 3, 4.0);  // cursor in [2, 10]
  Table table(config);
  insert_values(table, {1, 2});
  EXPECT_THROW(sample_values(table, 1), mlforge::Timeout);  // below min_size_to_sample
  insert_values(table, {3, 4, 5});                           // cursor 10
  EXPECT_THROW(insert_values(table, {6}), mlforge::Timeout);  // 12 > 10
  sample_values(table, 8);                                    // cursor 2
  EXPECT_THROW(sample_values(table, 1), mlforge::Timeout);    // 1 < 2
  insert_values(table, {6});                                  // cursor 4
  sample_values(table, 2);
  EXPECT_THROW(sample_values(table, 11), mlforge::InvalidArgument);  // wider than the window: never possible
}

TEST(ReplayTable, MaxTimesSampledRemovesItems) {
  auto config = scalar_config(8, Selector::kFifo);
  config.max_times_sampled = 2;
  Table table(config);
  insert_values(table, {1, 2});
  EXPECT_EQ(sample_values(table, 3).values, (std::vector<double>{1, 1, 2}));
  EXPECT_EQ(table.size(), 1);
}

namespace {

TableConfig episode_config(std::int64_t capacity, std::int64_t length) {
  TableConfig config;
  config.capacity = capacity;
  config.sampler = Selector::kUniform;
  config.fields = {{"step", DType::kInt64, {}}, {"reward", DType::kFloat32, {}}, {"done", DType::kBool, {}}};
  config.episode_end_field = "done";
  config.sequence_length = length;
  return config;
}

void insert_episodes(Table& table, const std::vector<int>& lengths, std::int64_t& counter) {
  std::vector<std::int64_t> steps;
  std::vector<float> rewards;
  std::vector<std::uint8_t> done;
  for (int length : lengths) {
    for (int i = 0; i < length; ++i) {
      steps.push_back(counter++);
      rewards.push_back(1.0f);
      done.push_back(i == length - 1);
    }
  }
  const auto n = static_cast<std::int64_t>(steps.size());
  ArrayView in[3] = {ArrayView(steps.data(), DType::kInt64, {n}), ArrayView(rewards.data(), DType::kFloat32, {n}),
                     ArrayView(done.data(), DType::kBool, {n})};
  std::vector<std::uint64_t> keys(static_cast<std::size_t>(n));
  table.insert(in, 3, nullptr, n, keys.data(), 0);
}

}  // namespace

TEST(ReplayTable, SequenceWindowsNeverCrossEpisodesOrEvictedItems) {
  Table table(episode_config(20, 3));
  std::int64_t counter = 0;
  insert_episodes(table, {2, 5, 1, 4, 6, 3, 7}, counter);  // 28 items, the first 8 evicted
  const std::int64_t batch = 500, length = 3;
  std::vector<std::int64_t> steps(batch * length);
  std::vector<float> rewards(batch * length);
  std::vector<std::uint8_t> done(batch * length);
  ArrayView out[3] = {ArrayView(steps.data(), DType::kInt64, {batch, length}),
                      ArrayView(rewards.data(), DType::kFloat32, {batch, length}),
                      ArrayView(done.data(), DType::kBool, {batch, length})};
  std::vector<double> probabilities(batch);
  table.sample_sequences(batch, SampleBuffers{out, nullptr, probabilities.data(), nullptr}, 0);
  // live items: steps 8..27; episodes [8..11] (4), [12..17] (6), [18..20] (3), [21..27] (7): 2+4+1+5 windows
  std::set<std::int64_t> starts;
  for (std::int64_t b = 0; b < batch; ++b) {
    EXPECT_EQ(steps[b * 3 + 1], steps[b * 3] + 1);
    EXPECT_EQ(steps[b * 3 + 2], steps[b * 3] + 2);
    EXPECT_FALSE(done[b * 3] || done[b * 3 + 1]);  // only the last item may end the episode
    EXPECT_GE(steps[b * 3], 8);
    EXPECT_DOUBLE_EQ(probabilities[b], 1.0 / 12);
    starts.insert(steps[b * 3]);
  }
  EXPECT_EQ(starts, (std::set<std::int64_t>{8, 9, 12, 13, 14, 15, 18, 21, 22, 23, 24, 25}));
}

TEST(ReplayTable, NStepReturnsStopAtTheEpisodeEnd) {
  auto config = episode_config(64, 0);
  config.sampler = Selector::kFifo;
  config.max_times_sampled = 0;
  Table table(config);
  std::int64_t counter = 0;
  insert_episodes(table, {2, 5}, counter);  // steps 0-1, then 2-6
  std::vector<double> returns(1), discounts(1);
  std::vector<std::uint64_t> first(1), last(1);
  SampleBuffers out{nullptr, first.data(), nullptr, nullptr};
  table.sample_nstep(1, 3, 0.5, "reward", out, returns.data(), discounts.data(), last.data(), 0);
  // FIFO: starts at step 0, whose episode ends after 2 items: 1 + 0.5, discount 0
  EXPECT_DOUBLE_EQ(returns[0], 1.5);
  EXPECT_DOUBLE_EQ(discounts[0], 0.0);
  std::vector<std::int64_t> step(1);
  std::vector<float> reward(1);
  std::vector<std::uint8_t> done(1);
  ArrayView gathered[3] = {ArrayView(step.data(), DType::kInt64, {1}), ArrayView(reward.data(), DType::kFloat32, {1}),
                           ArrayView(done.data(), DType::kBool, {1})};
  table.gather(last.data(), 1, gathered, 3);
  EXPECT_EQ(step[0], 1);
  auto lifo = episode_config(64, 0);
  Table middle(lifo);
  counter = 0;
  insert_episodes(middle, {7}, counter);
  std::vector<double> all_returns(400), all_discounts(400);
  std::vector<std::uint64_t> keys(400), last_keys(400);
  middle.sample_nstep(400, 3, 0.5, "reward", SampleBuffers{nullptr, keys.data(), nullptr, nullptr},
                      all_returns.data(), all_discounts.data(), last_keys.data(), 0);
  for (int i = 0; i < 400; ++i) {
    const bool full = all_discounts[i] == 0.125;
    const bool ends = all_discounts[i] == 0.0;  // starts at step 4 or later: reaches the end (step 6)
    EXPECT_TRUE(full || ends);
    if (full) {
      EXPECT_DOUBLE_EQ(all_returns[i], 1.75);
    }
  }
}
