#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "mlforge/error.h"
#include "replay_test_util.h"

using namespace replay_test;

namespace {

std::string temp_path(const char* name) { return ::testing::TempDir() + "/" + name; }

}  // namespace

TEST(ReplayCheckpoint, RestoredTableSamplesExactlyAsTheOriginal) {
  for (auto sampler : {Selector::kPrioritized, Selector::kUniform, Selector::kMaxHeap, Selector::kReservoir}) {
    const auto remover = sampler == Selector::kReservoir ? Selector::kReservoir : Selector::kFifo;
    Table table(scalar_config(50, sampler, remover));
    std::vector<double> values(80);
    std::vector<double> priorities(80);
    for (int i = 0; i < 80; ++i) {
      values[i] = i;
      priorities[i] = 1 + (i * 37) % 11;
    }
    auto keys = insert_values(table, values, &priorities);
    sample_values(table, 33);
    const std::string path = temp_path("table.ckpt");
    table.save(path);
    auto restored = Table::load(path);
    EXPECT_EQ(restored->size(), table.size());
    EXPECT_EQ(restored->stats().samples, table.stats().samples);
    for (int round = 0; round < 3; ++round) {
      const auto a = sample_values(table, 64), b = sample_values(*restored, 64);
      EXPECT_EQ(a.values, b.values) << mlforge::replay::selector_name(sampler);
      EXPECT_EQ(a.keys, b.keys);
      EXPECT_EQ(a.weights, b.weights);
      insert_values(table, {1000.0 + round});
      insert_values(*restored, {1000.0 + round});
    }
  }
}

TEST(ReplayCheckpoint, TornOrCorruptFilesAreRejectedAndTheOldOneSurvives) {
  Table table(scalar_config(16, Selector::kUniform));
  insert_values(table, {1, 2, 3});
  const std::string path = temp_path("good.ckpt");
  table.save(path);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto write = [](const std::string& file, const std::string& content) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << content;
  };
  const std::string torn = temp_path("torn.ckpt"), flipped = temp_path("flipped.ckpt"), other = temp_path("other.ckpt");
  write(torn, bytes.substr(0, bytes.size() - 7));
  std::string damaged = bytes;
  damaged[damaged.size() / 2] ^= 0x10;
  write(flipped, damaged);
  write(other, "not a checkpoint at all");
  for (const auto& file : {torn, flipped, other}) EXPECT_THROW(Table::load(file), mlforge::CorruptData) << file;
  EXPECT_THROW(Table::load(temp_path("missing.ckpt")), mlforge::Unavailable);
  // a save into an unwritable place fails cleanly and leaves the old checkpoint intact
  EXPECT_THROW(table.save("/nonexistent-dir/x.ckpt"), mlforge::Unavailable);
  EXPECT_EQ(Table::load(path)->size(), 3);
}
