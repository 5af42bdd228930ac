// The table's state, shared by the table operations (table.cpp) and checkpoints (checkpoint.cpp).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "mlforge/replay.h"
#include "replay/selector.h"

namespace mlforge::replay {

struct Table::Impl {
  explicit Impl(TableConfig table_config);

  // ---- configuration (immutable) ----
  TableConfig config;
  std::vector<std::size_t> item_bytes;  // bytes of one item, per field
  int slot_bits = 1;                    // slots (and the out-of-table marker `capacity`) fit in these bits
  int episode_field = -1;               // index of config.episode_end_field, or -1

  // ---- state (guarded by mutex) ----
  std::vector<std::vector<std::byte>> columns;  // capacity * item_bytes[f] per field
  // Per slot, the item's key (0: the slot is free) and priority side by side: an update of a random
  // slot touches one cache line for both.
  struct SlotInfo {
    std::uint64_t key = 0;
    double priority = 0.0;
  };
  std::vector<SlotInfo> slots;
  std::vector<std::int64_t> times_sampled;
  std::vector<std::int64_t> episode_step;       // position of the item in its episode (episodes only)
  std::vector<std::int64_t> free_slots;         // a stack; the next slot to fill is at the back
  std::int64_t size = 0;
  std::int64_t sample_budget = 0;               // samples the live items can still give (max_times_sampled > 0)
  std::uint64_t next_seq = 0;
  TableStats counters;
  std::unique_ptr<detail::ItemSelector> sampler;
  std::unique_ptr<detail::ItemSelector> remover;  // null for the reservoir remover
  std::unique_ptr<detail::ItemSelector> windows;  // valid sequence-window starts (sequence_length > 0)
  detail::DrawStream draws;
  std::vector<detail::Pick> picks;  // scratch for batched sampling
  bool closed = false;

  mutable std::mutex mutex;
  std::condition_variable changed;

  // ---- helpers (call with the mutex held) ----
  std::uint64_t seq_of_key(std::uint64_t key) const { return (key >> slot_bits) - 1; }
  std::int64_t slot_of_key(std::uint64_t key) const {
    return static_cast<std::int64_t>(key & ((std::uint64_t{1} << slot_bits) - 1));
  }
  std::uint64_t make_key(std::uint64_t seq, std::int64_t slot) const {
    return ((seq + 1) << slot_bits) | static_cast<std::uint64_t>(slot);
  }
  bool live(std::uint64_t key) const;
  double default_priority() const;
  void store_item(std::int64_t slot, const ArrayView* columns_in, std::int64_t row, double item_priority,
                  std::uint64_t seq);
  void remove_item(std::int64_t slot);
  void copy_out(std::int64_t slot, const ArrayView* out, std::int64_t row) const;
  void copy_out_many(const std::vector<detail::Pick>& chosen, const ArrayView* out) const;
  std::size_t memory_bytes() const;
  bool ends_episode(std::int64_t slot) const;
  double cursor() const;
  void rebuild_selectors();  // from the per-slot state, in insertion order (checkpoint restore)
};

}  // namespace mlforge::replay
