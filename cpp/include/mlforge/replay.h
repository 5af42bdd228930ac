// Experience replay: a fixed-capacity table of items with a schema of named fields, stored
// column-wise, with a sampler (which item a sample returns), a remover (which item leaves when the
// table is full), a rate limiter (when inserts and samples may proceed) and checkpoints.
//
// The shape follows Reverb's Table (sampler + remover + rate limiter), with batched columnar I/O,
// validated priorities, and a reservoir selector for continual learning.
//
// Keys. Every inserted item gets a unique, never reused 64-bit key: (insert sequence number + 1)
// shifted left by the number of bits of a slot index, or'd with the slot. A key whose slot has
// since been overwritten no longer matches, so an update for it is recognised as stale and dropped
// (counted), never applied to the slot's new occupant.
//
// Thread safety. Every public member function is safe to call from many threads at once (one mutex
// per table; data copies happen under it). insert() and sample() block while the rate limiter
// forbids them, up to `timeout_seconds` (< 0: no limit), then throw Timeout. close() wakes every
// waiter with Unavailable.
//
// Errors. InvalidArgument for a bad configuration or argument (named, with the value), OutOfRange
// for a key that was never issued, Timeout, Unavailable after close(), CorruptData for a damaged
// checkpoint.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "mlforge/api.h"
#include "mlforge/array.h"

namespace mlforge {
namespace replay {

/// Selection strategies, used as samplers and (a subset) as removers.
///  kUniform     every live item with probability 1/size.
///  kPrioritized proportional: P(i) = w_i / sum_j w_j with w_i = (p_i + epsilon)^alpha (Schaul et
///               al. 2016), a float64 sum tree whose nodes are recomputed from their children.
///  kFifo/kLifo  the oldest / newest item.
///  kMaxHeap/kMinHeap the item with the largest / smallest priority (oldest first among equals).
///  kReservoir   as a remover: Vitter's Algorithm R, so the table is a uniform sample of every item
///               ever inserted (an insert may be kept out of the table); as a sampler: uniform over
///               that reservoir, i.e. uniform over the whole stream (requires the reservoir remover).
enum class Selector : std::int32_t { kUniform, kPrioritized, kFifo, kLifo, kMaxHeap, kMinHeap, kReservoir };

/// "uniform", "prioritized", "fifo", "lifo", "max_heap", "min_heap", "reservoir".
MLFORGE_API const char* selector_name(Selector selector) noexcept;

/// One field of an item: its name, element type and per-item shape (empty for a scalar).
struct FieldSpec {
  std::string name;
  DType dtype = DType::kFloat32;
  std::vector<std::int64_t> shape;
};

/// Reverb's rate limiter: with I items inserted and S items sampled so far, the cursor
/// I * samples_per_insert - S must stay within [min_diff, max_diff], and sampling needs at least
/// min_size_to_sample live items.
struct RateLimiter {
  double samples_per_insert = 1.0;
  std::int64_t min_size_to_sample = 1;
  double min_diff = -std::numeric_limits<double>::infinity();
  double max_diff = std::numeric_limits<double>::infinity();

  /// Sampling waits for `min_size` items; nothing else is limited.
  static RateLimiter min_size(std::int64_t min_size);
  /// About `samples_per_insert` samples per inserted item once `min_size` items are in, within
  /// +/- `error_buffer`. An error buffer below 2 * max(1, samples_per_insert) could deadlock and is
  /// rejected.
  static RateLimiter sample_to_insert_ratio(double samples_per_insert, std::int64_t min_size, double error_buffer);
  /// A queue of at most `size` items (use with FIFO sampler/remover and max_times_sampled = 1).
  static RateLimiter queue(std::int64_t size);
  /// A stack of at most `size` items (use with LIFO sampler/remover and max_times_sampled = 1).
  static RateLimiter stack(std::int64_t size);
};

struct TableConfig {
  std::int64_t capacity = 0;
  std::vector<FieldSpec> fields;
  Selector sampler = Selector::kPrioritized;
  Selector remover = Selector::kFifo;  // kFifo, kLifo, kMinHeap (lowest priority first) or kReservoir
  double alpha = 0.6;                  // priority exponent
  double beta = 0.4;                   // importance-weight exponent
  double epsilon = 1e-6;               // added to every priority before the exponent
  double default_priority = -1.0;      // priority of an insert without one; < 0: the max over live items
                                       // (1 when empty, or when alpha = 0 leaves it untracked)
  std::int64_t max_times_sampled = 0;  // an item leaves after this many samples; 0: never
  RateLimiter rate_limiter;
  std::uint64_t seed = 0;
  // Episodes, for sequence windows and n-step returns (FIFO remover, no max_times_sampled):
  std::string episode_end_field;       // a bool/integer field, nonzero on an episode's last item
  std::int64_t sequence_length = 0;    // > 0: sample_sequences() draws windows of this length
};

/// Counters of a table (a consistent snapshot).
struct TableStats {
  std::int64_t size = 0;
  std::uint64_t inserts = 0;        // items offered to insert(), kept or not
  std::uint64_t samples = 0;        // items returned by sample calls
  std::uint64_t stale_updates = 0;  // priority updates dropped because their item had left
  std::uint64_t rejected_inserts = 0;  // inserts the reservoir kept out
  std::uint64_t memory_bytes = 0;      // bytes the table holds: data, keys, priorities, selectors
};

/// The sampling mass of the live items: how many, the sum of their sampling weights w_i and the
/// smallest positive w_i (uniform sampling: w_i = 1). A draw's probability times total_weight is its
/// item's weight, which lets a client merge samples of several tables (shards) exactly.
struct SamplingMass {
  std::int64_t size = 0;
  double total_weight = 0.0;
  double min_weight = 0.0;
};

/// Where a sample call writes: one (batch, *field shape) C-contiguous array per field, in schema
/// order (for sequences (batch, length, *field shape)), plus per-draw keys, sampling
/// probabilities and importance weights. Any of the pointers may be null to skip that output.
struct SampleBuffers {
  const ArrayView* columns = nullptr;  // fields().size() views, or nullptr to skip the data
  std::uint64_t* keys = nullptr;
  double* probabilities = nullptr;
  double* weights = nullptr;  // (N * P(i))^-beta / max over live items, so the largest possible is 1
};

class MLFORGE_API Table {
 public:
  explicit Table(TableConfig config);
  ~Table();
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  const TableConfig& config() const noexcept;
  std::int64_t size() const;
  TableStats stats() const;
  /// The sampler's mass (prioritized and uniform samplers; the others report uniform weights).
  SamplingMass sampling_mass() const;

  /// Inserts n items. `columns`: one array per field, (n, *shape), exact dtype, C-contiguous.
  /// `priorities`: n finite non-negative values, or nullptr for the default priority (the
  /// configured one, or the max over the items live when the call starts).
  /// `keys_out`: n keys (an item the reservoir keeps out still gets one; it is simply never live).
  /// Blocks while the rate limiter forbids it.
  void insert(const ArrayView* columns, std::int64_t num_columns, const double* priorities, std::int64_t n,
              std::uint64_t* keys_out, double timeout_seconds = -1.0);

  /// Draws `batch` items (with replacement, by the sampler) and copies them out.
  void sample(std::int64_t batch, const SampleBuffers& out, double timeout_seconds = -1.0);

  /// Draws `batch` windows of `sequence_length` consecutive items of one episode, uniformly over
  /// all such windows. keys: batch * length; probabilities and weights: one per window.
  void sample_sequences(std::int64_t batch, const SampleBuffers& out, double timeout_seconds = -1.0);

  /// n-step returns: draws `batch` start items by the sampler; for each, with m = the steps until
  /// the episode ends or n, the discounted sum of `reward_field` over the m items, the discount
  /// gamma^m (0 when the episode ended within them) and the key of the m-th item (whose next
  /// observation bootstraps). `returns`, `discounts`, `last_keys`: batch each.
  void sample_nstep(std::int64_t batch, std::int64_t n, double gamma, const std::string& reward_field,
                    const SampleBuffers& out, double* returns, double* discounts, std::uint64_t* last_keys,
                    double timeout_seconds = -1.0);

  /// Copies the fields of the live items `keys` into `columns` ((n, *shape) each); a key that is
  /// not live throws OutOfRange.
  void gather(const std::uint64_t* keys, std::int64_t n, const ArrayView* columns, std::int64_t num_columns) const;

  /// Sets priorities of live items; returns how many keys were stale (their item had left) and were
  /// dropped. A key never issued throws OutOfRange; a NaN, negative or infinite priority throws
  /// InvalidArgument before anything changes.
  std::int64_t update_priorities(const std::uint64_t* keys, const double* priorities, std::int64_t n);

  /// Wakes every blocked call with Unavailable; later inserts and samples throw Unavailable.
  void close();

  /// Writes the whole state (data, priorities, keys, counters, selector order, limiter and RNG
  /// state) to `path` atomically: a temporary file, fsync, rename, fsync of the directory.
  void save(const std::string& path) const;
  /// Reads a table written by save(); it samples exactly as the saved one would have. A torn or
  /// damaged file throws CorruptData.
  static std::unique_ptr<Table> load(const std::string& path);

  struct Impl;

 private:
  explicit Table(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace replay
}  // namespace mlforge
