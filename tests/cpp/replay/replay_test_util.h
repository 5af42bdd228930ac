// Small helpers for the replay tests: a one-field table ("x": float64 scalar) and its I/O.
#pragma once

#include <cstdint>
#include <vector>

#include "mlforge/replay.h"

namespace replay_test {

using mlforge::ArrayView;
using mlforge::DType;
using mlforge::replay::Selector;
using mlforge::replay::Table;
using mlforge::replay::TableConfig;

inline TableConfig scalar_config(std::int64_t capacity, Selector sampler, Selector remover = Selector::kFifo) {
  TableConfig config;
  config.capacity = capacity;
  config.fields = {{"x", DType::kFloat64, {}}};
  config.sampler = sampler;
  config.remover = remover;
  config.seed = 7;
  return config;
}

inline std::vector<std::uint64_t> insert_values(Table& table, std::vector<double> values,
                                                const std::vector<double>* priorities = nullptr) {
  ArrayView column(values.data(), DType::kFloat64, {static_cast<std::int64_t>(values.size())});
  std::vector<std::uint64_t> keys(values.size());
  table.insert(&column, 1, priorities ? priorities->data() : nullptr, static_cast<std::int64_t>(values.size()),
               keys.data(), 0.0);
  return keys;
}

struct Drawn {
  std::vector<double> values;
  std::vector<std::uint64_t> keys;
  std::vector<double> probabilities;
  std::vector<double> weights;
};

inline Drawn sample_values(Table& table, std::int64_t batch, double timeout = 0.0) {
  Drawn drawn{std::vector<double>(static_cast<std::size_t>(batch)), std::vector<std::uint64_t>(static_cast<std::size_t>(batch)),
              std::vector<double>(static_cast<std::size_t>(batch)), std::vector<double>(static_cast<std::size_t>(batch))};
  ArrayView column(drawn.values.data(), DType::kFloat64, {batch});
  mlforge::replay::SampleBuffers out{&column, drawn.keys.data(), drawn.probabilities.data(), drawn.weights.data()};
  table.sample(batch, out, timeout);
  return drawn;
}

}  // namespace replay_test
