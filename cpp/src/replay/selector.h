// Item selectors: which live item a sampler returns or a remover evicts. One interface, one
// implementation file each. Selectors are not thread-safe: the table calls them under its mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "mlforge/random.h"
#include "mlforge/replay.h"

namespace mlforge::replay::detail {

/// The table's random stream: Philox keyed by the seed, one counter per draw, so the whole state
/// is (seed, draws) and a restored table continues the same stream.
class DrawStream {
 public:
  explicit DrawStream(std::uint64_t seed, std::uint64_t draws = 0) : rng_(seed, 0x5265706c6179ULL), draws_(draws) {}
  /// Uniform in [0, 1).
  double uniform() { return rng_.uniform(draws_++); }
  /// Uniform integer in [0, n) (n > 0).
  std::int64_t below(std::int64_t n) {
    auto value = static_cast<std::int64_t>(uniform() * static_cast<double>(n));
    return value < n ? value : n - 1;
  }
  std::uint64_t draws() const { return draws_; }

 private:
  CounterRng rng_;
  std::uint64_t draws_;
};

struct Pick {
  std::int64_t slot;
  double probability;
};

class ItemSelector {
 public:
  virtual ~ItemSelector() = default;
  /// A new live item. Items arrive in increasing `seq` (insertion order).
  virtual void insert(std::int64_t slot, double priority, std::uint64_t seq) = 0;
  virtual void update(std::int64_t slot, double priority) = 0;
  virtual void remove(std::int64_t slot) = 0;
  virtual std::int64_t size() const = 0;
  /// The selected item and the probability this draw had of selecting it (size() > 0).
  virtual Pick pick(DrawStream& draws) const = 0;
  /// `n` independent picks, the same as `n` calls of pick() (implementations may interleave them).
  virtual void pick_many(DrawStream& draws, std::int64_t n, Pick* out) const {
    for (std::int64_t i = 0; i < n; ++i) out[i] = pick(draws);
  }
  /// Between begin_batch() and end_batch() a selector may defer internal upkeep: only insert,
  /// update and remove are called, and max_priority() may lag behind them.
  virtual void begin_batch() {}
  virtual void end_batch() {}
  /// A hint that `slot` is about to change: start loading what its update will touch.
  virtual void prefetch(std::int64_t slot) const { (void)slot; }
  /// Bytes this selector holds.
  virtual std::size_t memory_bytes() const = 0;
  /// The smallest selection probability over live items (importance-weight normalisation).
  virtual double min_probability() const { return 1.0; }
  /// Sum of the live items' sampling weights, and the smallest positive one (1 each by default).
  virtual double total_weight() const { return static_cast<double>(size()); }
  virtual double min_weight() const { return 1.0; }
  /// Largest priority over live items if this selector tracks priorities, else a negative value.
  virtual double max_priority() const { return -1.0; }
  /// Internal order that influences picks beyond the items themselves (saved in checkpoints);
  /// empty when re-inserting the items in insertion order reproduces the selector exactly.
  virtual std::vector<std::int64_t> order() const { return {}; }
  virtual void restore_order(const std::vector<std::int64_t>& order) { (void)order; }
};

std::unique_ptr<ItemSelector> make_uniform_selector(std::int64_t capacity);
std::unique_ptr<ItemSelector> make_prioritized_selector(std::int64_t capacity, double alpha, double epsilon);
std::unique_ptr<ItemSelector> make_ordered_selector(std::int64_t capacity, bool newest_first);
std::unique_ptr<ItemSelector> make_heap_selector(bool largest_first);

/// The selector for `kind` (kReservoir samples uniformly; as a remover the table handles it).
std::unique_ptr<ItemSelector> make_selector(Selector kind, const TableConfig& config);

}  // namespace mlforge::replay::detail
