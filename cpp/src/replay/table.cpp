// Table operations: configuration checks, insert (with eviction and the reservoir), the sample
// variants, gather, priority updates and the rate-limiter waits. See mlforge/replay.h.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <string>
#include <unordered_set>

#include "mlforge/error.h"
#include "replay/table_impl.h"

namespace mlforge::replay {
namespace {

bool is_integral_or_bool(DType dtype) {
  switch (dtype) {
    case DType::kBool: case DType::kInt8: case DType::kInt16: case DType::kInt32: case DType::kInt64:
    case DType::kUInt8: case DType::kUInt16: case DType::kUInt32: case DType::kUInt64:
      return true;
    default:
      return false;
  }
}

bool finite_nonnegative(double value) { return std::isfinite(value) && value >= 0.0; }

void check_config(const TableConfig& c) {
  const char* op = "[replay.table]";
  MLFORGE_CHECK(c.capacity >= 1 && c.capacity <= (std::int64_t{1} << 40), InvalidArgument, op,
                " capacity must be in [1, 2^40], got ", c.capacity);
  MLFORGE_CHECK(!c.fields.empty(), InvalidArgument, op, " the schema needs at least one field");
  std::unordered_set<std::string> names;
  for (const auto& field : c.fields) {
    MLFORGE_CHECK(!field.name.empty(), InvalidArgument, op, " a field has an empty name");
    MLFORGE_CHECK(names.insert(field.name).second, InvalidArgument, op, " field '", field.name, "' appears twice");
    for (auto extent : field.shape) {
      MLFORGE_CHECK(extent >= 1 && extent <= (std::int64_t{1} << 31), InvalidArgument, op, " field '", field.name,
                    "': every dimension must be in [1, 2^31], got ", extent);
    }
  }
  MLFORGE_CHECK(std::isfinite(c.alpha) && c.alpha >= 0, InvalidArgument, op, " alpha must be finite and >= 0, got ", c.alpha);
  MLFORGE_CHECK(std::isfinite(c.beta) && c.beta >= 0, InvalidArgument, op, " beta must be finite and >= 0, got ", c.beta);
  MLFORGE_CHECK(finite_nonnegative(c.epsilon), InvalidArgument, op, " epsilon must be finite and >= 0, got ", c.epsilon);
  MLFORGE_CHECK(std::isfinite(c.default_priority), InvalidArgument, op,
                " default_priority must be finite (negative: the max over live items), got ", c.default_priority);
  MLFORGE_CHECK(c.remover == Selector::kFifo || c.remover == Selector::kLifo || c.remover == Selector::kMinHeap ||
                    c.remover == Selector::kReservoir,
                InvalidArgument, op, " remover must be fifo, lifo, min_heap or reservoir, got ", selector_name(c.remover));
  MLFORGE_CHECK(c.sampler != Selector::kReservoir || c.remover == Selector::kReservoir, InvalidArgument, op,
                " the reservoir sampler needs the reservoir remover (got remover ", selector_name(c.remover), ")");
  MLFORGE_CHECK(c.max_times_sampled >= 0, InvalidArgument, op, " max_times_sampled must be >= 0, got ",
                c.max_times_sampled);
  const RateLimiter& r = c.rate_limiter;
  MLFORGE_CHECK(std::isfinite(r.samples_per_insert) && r.samples_per_insert > 0, InvalidArgument, op,
                " rate_limiter.samples_per_insert must be finite and > 0, got ", r.samples_per_insert);
  MLFORGE_CHECK(r.min_size_to_sample >= 1 && r.min_size_to_sample <= c.capacity, InvalidArgument, op,
                " rate_limiter.min_size_to_sample must be in [1, capacity=", c.capacity, "], got ", r.min_size_to_sample);
  MLFORGE_CHECK(!std::isnan(r.min_diff) && !std::isnan(r.max_diff) &&
                    r.max_diff - r.min_diff >= std::max(1.0, r.samples_per_insert),
                InvalidArgument, op, " rate_limiter: max_diff - min_diff must be >= max(1, samples_per_insert) or "
                "inserts and samples deadlock, got [", r.min_diff, ", ", r.max_diff, "]");
  MLFORGE_CHECK(c.sequence_length >= 0 && c.sequence_length <= c.capacity, InvalidArgument, op,
                " sequence_length must be in [0, capacity=", c.capacity, "], got ", c.sequence_length);
  const bool episodes = !c.episode_end_field.empty() || c.sequence_length > 0;
  if (episodes) {
    MLFORGE_CHECK(c.remover == Selector::kFifo && c.max_times_sampled == 0, InvalidArgument, op,
                  " episodes (episode_end_field, sequence_length) need the fifo remover and max_times_sampled = 0, "
                  "got remover ", selector_name(c.remover), " and max_times_sampled ", c.max_times_sampled);
  }
}

std::size_t item_size(const FieldSpec& field) {
  std::size_t bytes = dtype_size(field.dtype);
  for (auto extent : field.shape) bytes *= static_cast<std::size_t>(extent);
  return bytes;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

// `view` must be a C-contiguous CPU array of the field's dtype shaped (leading..., *field.shape).
void check_column(const char* op, const FieldSpec& field, const ArrayView& view,
                  const std::vector<std::int64_t>& leading, bool writable) {
  std::vector<std::int64_t> expected = leading;
  expected.insert(expected.end(), field.shape.begin(), field.shape.end());
  std::vector<std::int64_t> got(static_cast<std::size_t>(view.ndim()));
  for (int axis = 0; axis < view.ndim(); ++axis) got[static_cast<std::size_t>(axis)] = view.shape(axis);
  MLFORGE_CHECK(view.device().type == DeviceType::kCPU, InvalidArgument, op, " field '", field.name,
                "': expected a CPU array");
  MLFORGE_CHECK(view.dtype() == field.dtype, InvalidArgument, op, " field '", field.name, "': expected dtype ",
                dtype_name(field.dtype), ", got ", dtype_name(view.dtype()));
  MLFORGE_CHECK(got == expected, InvalidArgument, op, " field '", field.name, "': expected shape ",
                shape_text(expected), ", got ", shape_text(got));
  MLFORGE_CHECK(view.is_contiguous(), InvalidArgument, op, " field '", field.name, "': expected a C-contiguous array");
  MLFORGE_CHECK(!writable || view.writable(), InvalidArgument, op, " field '", field.name, "': output is read-only");
}

double read_scalar(const std::byte* at, DType dtype) {
  switch (dtype) {
    case DType::kFloat32: { float v; std::memcpy(&v, at, 4); return v; }
    case DType::kFloat64: { double v; std::memcpy(&v, at, 8); return v; }
    case DType::kInt32: { std::int32_t v; std::memcpy(&v, at, 4); return v; }
    case DType::kInt64: { std::int64_t v; std::memcpy(&v, at, 8); return static_cast<double>(v); }
    case DType::kBool: case DType::kUInt8: return static_cast<double>(static_cast<std::uint8_t>(*at));
    case DType::kInt8: return static_cast<double>(static_cast<std::int8_t>(*at));
    default: return 0.0;
  }
}

// Lets the selectors defer their upkeep over a run of inserts/updates (see ItemSelector::begin_batch).
class SelectorBatch {
 public:
  explicit SelectorBatch(Table::Impl& t) : t_(t) {
    t_.sampler->begin_batch();
    if (t_.remover) t_.remover->begin_batch();
  }
  ~SelectorBatch() {
    t_.sampler->end_batch();
    if (t_.remover) t_.remover->end_batch();
  }
  SelectorBatch(const SelectorBatch&) = delete;
  SelectorBatch& operator=(const SelectorBatch&) = delete;

 private:
  Table::Impl& t_;
};

}  // namespace

// ------------------------------------------------------------------------------------ Impl
Table::Impl::Impl(TableConfig table_config) : config(std::move(table_config)), draws(config.seed) {
  check_config(config);
  while ((std::int64_t{1} << slot_bits) <= config.capacity) ++slot_bits;
  const auto capacity = static_cast<std::size_t>(config.capacity);
  for (std::size_t f = 0; f < config.fields.size(); ++f) {
    const auto& field = config.fields[f];
    item_bytes.push_back(item_size(field));
    MLFORGE_CHECK(item_bytes.back() <= (std::size_t{1} << 40) / capacity, CapacityExceeded, "[replay.table] field '",
                  field.name, "' needs more than 2^40 bytes at capacity ", config.capacity);
    columns.emplace_back(capacity * item_bytes.back());
    if (field.name == config.episode_end_field) episode_field = static_cast<int>(f);
  }
  if (!config.episode_end_field.empty()) {
    MLFORGE_CHECK(episode_field >= 0, InvalidArgument, "[replay.table] episode_end_field '", config.episode_end_field,
                  "' is not a field of the schema");
    const auto& field = config.fields[static_cast<std::size_t>(episode_field)];
    MLFORGE_CHECK(field.shape.empty() && is_integral_or_bool(field.dtype), InvalidArgument,
                  "[replay.table] episode_end_field '", field.name, "' must be a scalar bool or integer field");
  }
  slots.assign(capacity, SlotInfo{});
  times_sampled.assign(capacity, 0);
  if (!config.episode_end_field.empty() || config.sequence_length > 0) episode_step.assign(capacity, 0);
  free_slots.resize(capacity);
  for (std::size_t i = 0; i < capacity; ++i) free_slots[i] = config.capacity - 1 - static_cast<std::int64_t>(i);
  sampler = detail::make_selector(config.sampler, config);
  if (config.remover != Selector::kReservoir) remover = detail::make_selector(config.remover, config);
  if (config.sequence_length > 0) windows = detail::make_uniform_selector(config.capacity);
}

bool Table::Impl::live(std::uint64_t key) const {
  const auto slot = slot_of_key(key);
  return key != 0 && slot < config.capacity && slots[static_cast<std::size_t>(slot)].key == key;
}

double Table::Impl::default_priority() const {
  if (config.default_priority >= 0) return config.default_priority;
  const double known = std::max(sampler->max_priority(), remover ? remover->max_priority() : -1.0);
  return known >= 0 ? known : 1.0;
}

bool Table::Impl::ends_episode(std::int64_t slot) const {
  if (episode_field < 0) return false;
  const auto bytes = item_bytes[static_cast<std::size_t>(episode_field)];
  const std::byte* at = columns[static_cast<std::size_t>(episode_field)].data() + static_cast<std::size_t>(slot) * bytes;
  for (std::size_t i = 0; i < bytes; ++i) {
    if (at[i] != std::byte{0}) return true;
  }
  return false;
}

void Table::Impl::store_item(std::int64_t slot, const ArrayView* columns_in, std::int64_t row, double item_priority,
                             std::uint64_t seq) {
  const auto s = static_cast<std::size_t>(slot);
  for (std::size_t f = 0; f < columns.size(); ++f) {
    const auto* source = static_cast<const std::byte*>(columns_in[f].data()) + static_cast<std::size_t>(row) * item_bytes[f];
    std::memcpy(columns[f].data() + s * item_bytes[f], source, item_bytes[f]);
  }
  slots[s].key = make_key(seq, slot);
  slots[s].priority = item_priority;
  times_sampled[s] = 0;
  sample_budget += config.max_times_sampled;
  sampler->insert(slot, item_priority, seq);
  if (remover) remover->insert(slot, item_priority, seq);
  if (episode_step.empty()) return;
  // Episodes require the FIFO remover, so live items fill slots in ring order: slot = seq % capacity.
  std::int64_t step = 0;
  if (seq > 0) {
    const auto previous = static_cast<std::int64_t>((seq - 1) % static_cast<std::uint64_t>(config.capacity));
    if (slots[static_cast<std::size_t>(previous)].key == make_key(seq - 1, previous) && !ends_episode(previous)) {
      step = episode_step[static_cast<std::size_t>(previous)] + 1;
    }
  }
  episode_step[s] = step;
  const std::int64_t length = config.sequence_length;
  if (windows && step >= length - 1) {
    const std::uint64_t start = seq - static_cast<std::uint64_t>(length - 1);
    windows->insert(static_cast<std::int64_t>(start % static_cast<std::uint64_t>(config.capacity)), 0.0, start);
  }
}

void Table::Impl::remove_item(std::int64_t slot) {
  sampler->remove(slot);
  if (remover) remover->remove(slot);
  if (windows) windows->remove(slot);  // the window that started here, if any
  if (config.max_times_sampled > 0) sample_budget -= config.max_times_sampled - times_sampled[static_cast<std::size_t>(slot)];
  slots[static_cast<std::size_t>(slot)].key = 0;
  free_slots.push_back(slot);
  --size;
}

void Table::Impl::copy_out(std::int64_t slot, const ArrayView* out, std::int64_t row) const {
  for (std::size_t f = 0; f < columns.size(); ++f) {
    auto* target = static_cast<std::byte*>(out[f].data()) + static_cast<std::size_t>(row) * item_bytes[f];
    std::memcpy(target, columns[f].data() + static_cast<std::size_t>(slot) * item_bytes[f], item_bytes[f]);
  }
}

namespace {

// Copies the rows `chosen` (random slots) of one column into consecutive rows of `target`. kBytes > 0
// fixes the row size at compile time, so each copy is a few moves instead of a memcpy call (the
// common fields are 1 to 64 bytes); 0 takes it from `bytes`.
template <std::size_t kBytes>
void gather_rows(const std::byte* source, std::byte* target, std::size_t bytes, const std::vector<detail::Pick>& chosen) {
  const std::size_t size = kBytes > 0 ? kBytes : bytes;
  constexpr std::size_t kAhead = 16;  // random rows: keep several cache misses in flight
  for (std::size_t b = 0; b < std::min(kAhead, chosen.size()); ++b) {
    __builtin_prefetch(source + static_cast<std::size_t>(chosen[b].slot) * size);
  }
  for (std::size_t b = 0; b < chosen.size(); ++b) {
    if (b + kAhead < chosen.size()) __builtin_prefetch(source + static_cast<std::size_t>(chosen[b + kAhead].slot) * size);
    std::memcpy(target + b * size, source + static_cast<std::size_t>(chosen[b].slot) * size, size);
  }
}

}  // namespace

void Table::Impl::copy_out_many(const std::vector<detail::Pick>& chosen, const ArrayView* out) const {
  for (std::size_t f = 0; f < columns.size(); ++f) {
    const std::byte* source = columns[f].data();
    auto* target = static_cast<std::byte*>(out[f].data());
    switch (const std::size_t bytes = item_bytes[f]) {
      case 1: gather_rows<1>(source, target, bytes, chosen); break;
      case 2: gather_rows<2>(source, target, bytes, chosen); break;
      case 4: gather_rows<4>(source, target, bytes, chosen); break;
      case 8: gather_rows<8>(source, target, bytes, chosen); break;
      case 16: gather_rows<16>(source, target, bytes, chosen); break;
      case 32: gather_rows<32>(source, target, bytes, chosen); break;
      case 64: gather_rows<64>(source, target, bytes, chosen); break;
      default: gather_rows<0>(source, target, bytes, chosen); break;
    }
  }
}

std::size_t Table::Impl::memory_bytes() const {
  std::size_t bytes = sizeof(Impl);
  for (const auto& column : columns) bytes += column.capacity();
  bytes += slots.capacity() * sizeof(SlotInfo) +
           (times_sampled.capacity() + episode_step.capacity() + free_slots.capacity()) * sizeof(std::int64_t) +
           picks.capacity() * sizeof(detail::Pick);
  bytes += sampler->memory_bytes() + (remover ? remover->memory_bytes() : 0) + (windows ? windows->memory_bytes() : 0);
  return bytes;
}

double Table::Impl::cursor() const {
  return static_cast<double>(counters.inserts) * config.rate_limiter.samples_per_insert -
         static_cast<double>(counters.samples);
}

void Table::Impl::rebuild_selectors() {
  sampler = detail::make_selector(config.sampler, config);
  remover = config.remover == Selector::kReservoir ? nullptr : detail::make_selector(config.remover, config);
  std::vector<std::int64_t> live_slots;
  for (std::int64_t slot = 0; slot < config.capacity; ++slot) {
    if (slots[static_cast<std::size_t>(slot)].key != 0) live_slots.push_back(slot);
  }
  std::sort(live_slots.begin(), live_slots.end(), [this](std::int64_t a, std::int64_t b) {
    return slots[static_cast<std::size_t>(a)].key >> slot_bits < slots[static_cast<std::size_t>(b)].key >> slot_bits;
  });
  SelectorBatch batch(*this);
  for (auto slot : live_slots) {
    const auto& info = slots[static_cast<std::size_t>(slot)];
    const auto seq = seq_of_key(info.key);
    sampler->insert(slot, info.priority, seq);
    if (remover) remover->insert(slot, info.priority, seq);
  }
}

// ------------------------------------------------------------------------- waiting
namespace {


template <class Ready, class Describe>
void wait_for_limiter(Table::Impl& t, std::unique_lock<std::mutex>& lock, double timeout_seconds, const char* op,
                      Ready ready, Describe describe) {
  MLFORGE_CHECK(!t.closed, Unavailable, op, " the table is closed");
  if (ready()) return;
  MLFORGE_CHECK(!std::isnan(timeout_seconds), InvalidArgument, op, " timeout must not be NaN");
  if (timeout_seconds < 0) {
    t.changed.wait(lock, [&] { return t.closed || ready(); });
  } else if (timeout_seconds > 0) {
    const auto limit = std::chrono::duration<double>(std::min(timeout_seconds, 1e9));
    t.changed.wait_for(lock, limit, [&] { return t.closed || ready(); });
  }
  MLFORGE_CHECK(!t.closed, Unavailable, op, " the table was closed while waiting");
  MLFORGE_CHECK(ready(), Timeout, op, " the rate limiter did not allow the call within ", timeout_seconds, " s (",
                describe(), ")");
}

std::string limiter_state(const Table::Impl& t) {
  return "size " + std::to_string(t.size) + ", min_size_to_sample " +
         std::to_string(t.config.rate_limiter.min_size_to_sample) + ", inserts " + std::to_string(t.counters.inserts) +
         ", samples " + std::to_string(t.counters.samples) + ", cursor " + std::to_string(t.cursor()) + " in [" +
         std::to_string(t.config.rate_limiter.min_diff) + ", " + std::to_string(t.config.rate_limiter.max_diff) + "]";
}

// Whether `batch` samples may proceed now (ignoring the data the caller needs besides items).
bool sample_allowed(const Table::Impl& t, std::int64_t batch) {
  const auto& r = t.config.rate_limiter;
  if (t.size < std::max<std::int64_t>(1, r.min_size_to_sample)) return false;
  if (t.cursor() - static_cast<double>(batch) < r.min_diff) return false;
  return t.config.max_times_sampled == 0 || t.sample_budget >= batch;
}

void check_batch(const Table::Impl& t, const char* op, std::int64_t batch) {
  MLFORGE_CHECK(batch >= 1, InvalidArgument, op, " batch_size must be >= 1, got ", batch);
  const auto& r = t.config.rate_limiter;
  MLFORGE_CHECK(static_cast<double>(batch) <= r.max_diff - r.min_diff, InvalidArgument, op, " batch_size ", batch,
                " exceeds the rate limiter's window ", r.max_diff - r.min_diff, ": it could never be allowed");
  MLFORGE_CHECK(t.config.max_times_sampled == 0 || batch <= t.config.capacity * t.config.max_times_sampled,
                InvalidArgument, op, " batch_size ", batch, " exceeds what a full table can give (capacity ",
                t.config.capacity, " x max_times_sampled ", t.config.max_times_sampled, ")");
}

void check_outputs(const Table::Impl& t, const char* op, const SampleBuffers& out,
                   const std::vector<std::int64_t>& leading) {
  if (out.columns == nullptr) return;
  for (std::size_t f = 0; f < t.config.fields.size(); ++f) check_column(op, t.config.fields[f], out.columns[f], leading, true);
}

}  // namespace

// ------------------------------------------------------------------------------ Table
Table::Table(TableConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Table::Table(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Table::~Table() = default;

const TableConfig& Table::config() const noexcept { return impl_->config; }

std::int64_t Table::size() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->size;
}

SamplingMass Table::sampling_mass() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  const auto& sampler = *impl_->sampler;
  return {impl_->size, sampler.total_weight(), impl_->size == 0 ? 0.0 : sampler.min_weight()};
}

TableStats Table::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  TableStats stats = impl_->counters;
  stats.size = impl_->size;
  stats.memory_bytes = impl_->memory_bytes();
  return stats;
}

void Table::insert(const ArrayView* columns, std::int64_t num_columns, const double* priorities, std::int64_t n,
                   std::uint64_t* keys_out, double timeout_seconds) {
  Impl& t = *impl_;
  const char* op = "[replay.insert]";
  MLFORGE_CHECK(n >= 0, InvalidArgument, op, " n must be >= 0, got ", n);
  MLFORGE_CHECK(num_columns == static_cast<std::int64_t>(t.config.fields.size()), InvalidArgument, op, " expected ",
                t.config.fields.size(), " columns (one per field), got ", num_columns);
  for (std::size_t f = 0; f < t.config.fields.size(); ++f) check_column(op, t.config.fields[f], columns[f], {n}, false);
  if (priorities != nullptr) {
    for (std::int64_t i = 0; i < n; ++i) {
      MLFORGE_CHECK(finite_nonnegative(priorities[i]), InvalidArgument, op, " priorities[", i,
                    "] must be finite and >= 0, got ", priorities[i]);
    }
  }
  if (n == 0) return;
  const auto& r = t.config.rate_limiter;
  MLFORGE_CHECK(static_cast<double>(n) * r.samples_per_insert <= r.max_diff - r.min_diff, InvalidArgument, op, " ", n,
                " items exceed the rate limiter's window ", r.max_diff - r.min_diff, ": insert fewer at a time");
  std::unique_lock<std::mutex> lock(t.mutex);
  MLFORGE_CHECK(t.next_seq + static_cast<std::uint64_t>(n) < (std::uint64_t{1} << (63 - t.slot_bits)), CapacityExceeded,
                op, " the table has issued all of its keys");
  wait_for_limiter(
      t, lock, timeout_seconds, op,
      [&] { return t.cursor() + static_cast<double>(n) * r.samples_per_insert <= r.max_diff; },
      [&] { return limiter_state(t); });
  // The default priority (the max over live items) is read once per call: within the batch the
  // selectors defer their upkeep.
  const double default_priority = priorities == nullptr ? t.default_priority() : 0.0;
  {
    SelectorBatch batch(t);  // flushed before the lock is released
    for (std::int64_t i = 0; i < n; ++i) {
      const std::uint64_t seq = t.next_seq++;
      const double item_priority = priorities != nullptr ? priorities[i] : default_priority;
      ++t.counters.inserts;
      std::int64_t slot = -1;
      if (t.size < t.config.capacity) {
        slot = t.free_slots.back();
        t.free_slots.pop_back();
      } else if (t.config.remover == Selector::kReservoir) {
        // Algorithm R: the t-th item replaces a uniformly chosen slot with probability capacity / t.
        const auto chosen = t.draws.below(static_cast<std::int64_t>(t.counters.inserts));
        if (chosen >= t.config.capacity) {
          ++t.counters.rejected_inserts;
          keys_out[i] = t.make_key(seq, t.config.capacity);  // an out-of-table slot: never live
          continue;
        }
        slot = chosen;
        t.remove_item(slot);
        t.free_slots.pop_back();
      } else {
        slot = t.remover->pick(t.draws).slot;
        t.remove_item(slot);
        t.free_slots.pop_back();
      }
      t.store_item(slot, columns, i, item_priority, seq);
      ++t.size;
      keys_out[i] = t.slots[static_cast<std::size_t>(slot)].key;
    }
  }
  lock.unlock();
  t.changed.notify_all();
}

void Table::sample(std::int64_t batch, const SampleBuffers& out, double timeout_seconds) {
  Impl& t = *impl_;
  const char* op = "[replay.sample]";
  check_batch(t, op, batch);
  check_outputs(t, op, out, {batch});
  std::unique_lock<std::mutex> lock(t.mutex);
  wait_for_limiter(t, lock, timeout_seconds, op, [&] { return sample_allowed(t, batch); }, [&] { return limiter_state(t); });
  if (t.config.max_times_sampled == 0) {
    // Nothing leaves during the batch: draw all picks at once, then copy field by field.
    const double min_probability = t.sampler->min_probability();
    t.picks.resize(static_cast<std::size_t>(batch));
    t.sampler->pick_many(t.draws, batch, t.picks.data());
    for (const auto& pick : t.picks) __builtin_prefetch(&t.slots[static_cast<std::size_t>(pick.slot)].key);
    for (std::int64_t b = 0; b < batch; ++b) {
      const auto& pick = t.picks[static_cast<std::size_t>(b)];
      // times_sampled only matters with max_times_sampled; skipping it saves a cache miss per draw
      if (out.keys) out.keys[b] = t.slots[static_cast<std::size_t>(pick.slot)].key;
      if (out.probabilities) out.probabilities[b] = pick.probability;
      if (out.weights) out.weights[b] = std::pow(pick.probability / min_probability, -t.config.beta);
    }
    if (out.columns) t.copy_out_many(t.picks, out.columns);
  } else {
    for (std::int64_t b = 0; b < batch; ++b) {
      const double min_probability = t.sampler->min_probability();
      const detail::Pick pick = t.sampler->pick(t.draws);
      const auto slot = static_cast<std::size_t>(pick.slot);
      if (out.columns) t.copy_out(pick.slot, out.columns, b);
      if (out.keys) out.keys[b] = t.slots[slot].key;
      if (out.probabilities) out.probabilities[b] = pick.probability;
      if (out.weights) out.weights[b] = std::pow(pick.probability / min_probability, -t.config.beta);
      ++t.times_sampled[slot];
      --t.sample_budget;
      if (t.times_sampled[slot] >= t.config.max_times_sampled) t.remove_item(pick.slot);
    }
  }
  t.counters.samples += static_cast<std::uint64_t>(batch);
  lock.unlock();
  t.changed.notify_all();
}

void Table::sample_sequences(std::int64_t batch, const SampleBuffers& out, double timeout_seconds) {
  Impl& t = *impl_;
  const char* op = "[replay.sample_sequences]";
  const std::int64_t length = t.config.sequence_length;
  MLFORGE_CHECK(length > 0, InvalidArgument, op, " the table was configured without sequence_length");
  check_batch(t, op, batch);
  check_outputs(t, op, out, {batch, length});
  std::unique_lock<std::mutex> lock(t.mutex);
  wait_for_limiter(
      t, lock, timeout_seconds, op, [&] { return sample_allowed(t, batch) && t.windows->size() > 0; },
      [&] { return limiter_state(t) + ", complete windows " + std::to_string(t.windows->size()); });
  const auto capacity = static_cast<std::uint64_t>(t.config.capacity);
  for (std::int64_t b = 0; b < batch; ++b) {
    const detail::Pick pick = t.windows->pick(t.draws);
    const std::uint64_t start = t.seq_of_key(t.slots[static_cast<std::size_t>(pick.slot)].key);
    for (std::int64_t k = 0; k < length; ++k) {
      const auto slot = static_cast<std::int64_t>((start + static_cast<std::uint64_t>(k)) % capacity);
      if (out.columns) t.copy_out(slot, out.columns, b * length + k);
      if (out.keys) out.keys[b * length + k] = t.slots[static_cast<std::size_t>(slot)].key;
    }
    if (out.probabilities) out.probabilities[b] = pick.probability;
    if (out.weights) out.weights[b] = 1.0;
  }
  t.counters.samples += static_cast<std::uint64_t>(batch);
  lock.unlock();
  t.changed.notify_all();
}

void Table::sample_nstep(std::int64_t batch, std::int64_t n, double gamma, const std::string& reward_field,
                         const SampleBuffers& out, double* returns, double* discounts, std::uint64_t* last_keys,
                         double timeout_seconds) {
  Impl& t = *impl_;
  const char* op = "[replay.sample_nstep]";
  MLFORGE_CHECK(!t.episode_step.empty(), InvalidArgument, op, " the table was configured without episode_end_field");
  MLFORGE_CHECK(n >= 1 && n <= t.config.capacity, InvalidArgument, op, " n must be in [1, capacity], got ", n);
  MLFORGE_CHECK(std::isfinite(gamma) && gamma >= 0 && gamma <= 1, InvalidArgument, op, " gamma must be in [0, 1], got ",
                gamma);
  int reward = -1;
  for (std::size_t f = 0; f < t.config.fields.size(); ++f) {
    if (t.config.fields[f].name == reward_field) reward = static_cast<int>(f);
  }
  MLFORGE_CHECK(reward >= 0, InvalidArgument, op, " reward_field '", reward_field, "' is not a field of the schema");
  const auto& reward_spec = t.config.fields[static_cast<std::size_t>(reward)];
  MLFORGE_CHECK(reward_spec.shape.empty(), InvalidArgument, op, " reward_field '", reward_field, "' must be scalar");
  check_batch(t, op, batch);
  check_outputs(t, op, out, {batch});
  std::unique_lock<std::mutex> lock(t.mutex);
  wait_for_limiter(t, lock, timeout_seconds, op, [&] { return sample_allowed(t, batch); }, [&] { return limiter_state(t); });
  const auto capacity = static_cast<std::uint64_t>(t.config.capacity);
  const std::size_t reward_bytes = t.item_bytes[static_cast<std::size_t>(reward)];
  for (std::int64_t b = 0; b < batch; ++b) {
    const double min_probability = t.sampler->min_probability();
    const detail::Pick pick = t.sampler->pick(t.draws);
    const std::uint64_t start = t.seq_of_key(t.slots[static_cast<std::size_t>(pick.slot)].key);
    double total = 0.0, discount = 1.0;
    std::int64_t last = pick.slot;
    bool ended = false;
    for (std::int64_t k = 0; k < n && start + static_cast<std::uint64_t>(k) < t.next_seq; ++k) {
      const auto slot = static_cast<std::int64_t>((start + static_cast<std::uint64_t>(k)) % capacity);
      const std::byte* at = t.columns[static_cast<std::size_t>(reward)].data() + static_cast<std::size_t>(slot) * reward_bytes;
      total += discount * read_scalar(at, reward_spec.dtype);
      discount *= gamma;
      last = slot;
      if (t.ends_episode(slot)) {
        ended = true;
        break;
      }
    }
    if (out.columns) t.copy_out(pick.slot, out.columns, b);
    if (out.keys) out.keys[b] = t.slots[static_cast<std::size_t>(pick.slot)].key;
    if (out.probabilities) out.probabilities[b] = pick.probability;
    if (out.weights) out.weights[b] = std::pow(pick.probability / min_probability, -t.config.beta);
    if (returns) returns[b] = total;
    if (discounts) discounts[b] = ended ? 0.0 : discount;
    if (last_keys) last_keys[b] = t.slots[static_cast<std::size_t>(last)].key;
    ++t.times_sampled[static_cast<std::size_t>(pick.slot)];
  }
  t.counters.samples += static_cast<std::uint64_t>(batch);
  lock.unlock();
  t.changed.notify_all();
}

namespace {

void check_issued(const Table::Impl& t, const char* op, std::uint64_t key, std::int64_t index) {
  const bool issued = key != 0 && t.slot_of_key(key) <= t.config.capacity && (key >> t.slot_bits) >= 1 &&
                      t.seq_of_key(key) < t.next_seq;
  MLFORGE_CHECK(issued, OutOfRange, op, " keys[", index, "] = ", key, " was never issued by this table");
}

}  // namespace

void Table::gather(const std::uint64_t* keys, std::int64_t n, const ArrayView* columns, std::int64_t num_columns) const {
  const Impl& t = *impl_;
  const char* op = "[replay.gather]";
  MLFORGE_CHECK(n >= 0, InvalidArgument, op, " n must be >= 0, got ", n);
  MLFORGE_CHECK(num_columns == static_cast<std::int64_t>(t.config.fields.size()), InvalidArgument, op, " expected ",
                t.config.fields.size(), " columns, got ", num_columns);
  for (std::size_t f = 0; f < t.config.fields.size(); ++f) check_column(op, t.config.fields[f], columns[f], {n}, true);
  std::lock_guard<std::mutex> lock(t.mutex);
  for (std::int64_t i = 0; i < n; ++i) {
    check_issued(t, op, keys[i], i);
    MLFORGE_CHECK(t.live(keys[i]), OutOfRange, op, " keys[", i, "] = ", keys[i], " is no longer in the table");
  }
  for (std::int64_t i = 0; i < n; ++i) t.copy_out(t.slot_of_key(keys[i]), columns, i);
}

std::int64_t Table::update_priorities(const std::uint64_t* keys, const double* priorities, std::int64_t n) {
  Impl& t = *impl_;
  const char* op = "[replay.update_priorities]";
  MLFORGE_CHECK(n >= 0, InvalidArgument, op, " n must be >= 0, got ", n);
  for (std::int64_t i = 0; i < n; ++i) {
    MLFORGE_CHECK(finite_nonnegative(priorities[i]), InvalidArgument, op, " priorities[", i,
                  "] must be finite and >= 0, got ", priorities[i]);
  }
  std::lock_guard<std::mutex> lock(t.mutex);
  for (std::int64_t i = 0; i < n; ++i) check_issued(t, op, keys[i], i);
  std::int64_t stale = 0;
  // Random slots: start every slot's cache misses before using any of them.
  for (std::int64_t i = 0; i < n; ++i) {
    const auto slot = static_cast<std::size_t>(std::min(t.slot_of_key(keys[i]), t.config.capacity - 1));
    __builtin_prefetch(&t.slots[slot], 1);
    t.sampler->prefetch(static_cast<std::int64_t>(slot));
  }
  SelectorBatch batch(t);
  for (std::int64_t i = 0; i < n; ++i) {
    if (!t.live(keys[i])) {
      ++stale;
      continue;
    }
    const auto slot = t.slot_of_key(keys[i]);
    t.slots[static_cast<std::size_t>(slot)].priority = priorities[i];
    t.sampler->update(slot, priorities[i]);
    if (t.remover) t.remover->update(slot, priorities[i]);
  }
  t.counters.stale_updates += static_cast<std::uint64_t>(stale);
  return stale;
}

void Table::close() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->closed = true;
  }
  impl_->changed.notify_all();
}

}  // namespace mlforge::replay
