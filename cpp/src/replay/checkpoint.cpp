// Table checkpoints. Layout: magic "MLFRPLAY", u32 format version, u32 reserved, u64 payload
// bytes, u64 payload checksum, then the payload: the configuration, the counters and RNG position,
// the per-slot keys, priorities, sample counts and episode steps, the free-slot stack, the order of
// the uniform selectors, and the field columns. Little-endian, as the machine writes it (the
// loader rejects a file from a machine of the other endianness through the magic).
//
// save() streams into `path.tmp-<pid>`, fsyncs, renames over `path` and fsyncs the directory, so a
// kill at any moment leaves either the old file or the new one.
#include <cstdio>
#include <cstring>
#include <string>

#include "core/persist.h"
#include "mlforge/error.h"
#include "replay/table_impl.h"

namespace mlforge::replay {
namespace {

constexpr mlforge::detail::FileFormat kFormat = {{'M', 'L', 'F', 'R', 'P', 'L', 'A', 'Y'}, 1, "replay.save", "replay.load",
                                        "a replay checkpoint"};

}  // namespace

void Table::save(const std::string& path) const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  const Impl& t = *impl_;
  mlforge::detail::save_atomically(path, kFormat, [&](mlforge::detail::FileWriter& out) {
    const TableConfig& c = t.config;
    out.put<std::int64_t>(c.capacity);
    out.put<std::uint64_t>(c.fields.size());
    for (const auto& field : c.fields) {
      out.put(field.name);
      out.put<std::int32_t>(static_cast<std::int32_t>(field.dtype));
      out.put(field.shape);
    }
    out.put<std::int32_t>(static_cast<std::int32_t>(c.sampler));
    out.put<std::int32_t>(static_cast<std::int32_t>(c.remover));
    for (double value : {c.alpha, c.beta, c.epsilon, c.default_priority}) out.put(value);
    out.put<std::int64_t>(c.max_times_sampled);
    out.put(c.rate_limiter.samples_per_insert);
    out.put<std::int64_t>(c.rate_limiter.min_size_to_sample);
    out.put(c.rate_limiter.min_diff);
    out.put(c.rate_limiter.max_diff);
    out.put<std::uint64_t>(c.seed);
    out.put(c.episode_end_field);
    out.put<std::int64_t>(c.sequence_length);
    out.put<std::int64_t>(t.size);
    out.put<std::uint64_t>(t.next_seq);
    out.put(t.counters);
    out.put<std::uint64_t>(t.draws.draws());
    out.put(t.slots);
    out.put(t.times_sampled);
    out.put(t.episode_step);
    out.put(t.free_slots);
    out.put(t.sampler->order());
    out.put(t.windows ? t.windows->order() : std::vector<std::int64_t>{});
    for (const auto& column : t.columns) out.put(column);
  });
}

std::unique_ptr<Table> Table::load(const std::string& path) {
  const char* op = "[replay.load]";
  const mlforge::detail::VerifiedFile file(path, kFormat);
  mlforge::detail::Reader in = file.reader();
  TableConfig c;
  c.capacity = in.get<std::int64_t>();
  const auto num_fields = in.get<std::uint64_t>();
  MLFORGE_CHECK(num_fields <= 4096, CorruptData, op, " '", path, "': ", num_fields, " fields");
  for (std::uint64_t f = 0; f < num_fields; ++f) {
    FieldSpec field;
    field.name = in.get_string();
    field.dtype = static_cast<DType>(in.get<std::int32_t>());
    field.shape = in.get_vector<std::int64_t>();
    c.fields.push_back(std::move(field));
  }
  c.sampler = static_cast<Selector>(in.get<std::int32_t>());
  c.remover = static_cast<Selector>(in.get<std::int32_t>());
  c.alpha = in.get<double>();
  c.beta = in.get<double>();
  c.epsilon = in.get<double>();
  c.default_priority = in.get<double>();
  c.max_times_sampled = in.get<std::int64_t>();
  c.rate_limiter.samples_per_insert = in.get<double>();
  c.rate_limiter.min_size_to_sample = in.get<std::int64_t>();
  c.rate_limiter.min_diff = in.get<double>();
  c.rate_limiter.max_diff = in.get<double>();
  c.seed = in.get<std::uint64_t>();
  c.episode_end_field = in.get_string();
  c.sequence_length = in.get<std::int64_t>();

  std::unique_ptr<Impl> t;
  try {
    t = std::make_unique<Impl>(c);
  } catch (const InvalidArgument& error) {
    throw CorruptData(std::string(op) + " '" + path + "': invalid configuration: " + error.what());
  }
  const auto capacity = static_cast<std::size_t>(c.capacity);
  t->size = in.get<std::int64_t>();
  t->next_seq = in.get<std::uint64_t>();
  t->counters = in.get<TableStats>();
  t->draws = detail::DrawStream(c.seed, in.get<std::uint64_t>());
  t->slots = in.get_vector<Table::Impl::SlotInfo>();
  t->times_sampled = in.get_vector<std::int64_t>();
  t->episode_step = in.get_vector<std::int64_t>();
  t->free_slots = in.get_vector<std::int64_t>();
  const auto sampler_order = in.get_vector<std::int64_t>();
  const auto window_order = in.get_vector<std::int64_t>();
  for (std::size_t f = 0; f < t->columns.size(); ++f) {
    t->columns[f] = in.get_vector<std::byte>();
    MLFORGE_CHECK(t->columns[f].size() == capacity * t->item_bytes[f], CorruptData, op, " '", path, "': column ", f,
                  " has the wrong size");
  }
  std::int64_t live = 0;
  for (std::size_t slot = 0; slot < t->slots.size(); ++slot) {
    if (t->slots[slot].key == 0) continue;
    ++live;
    if (c.max_times_sampled > 0 && slot < t->times_sampled.size()) {
      t->sample_budget += c.max_times_sampled - t->times_sampled[slot];
    }
  }
  const bool consistent = in.at_end() && t->slots.size() == capacity &&
                          t->times_sampled.size() == capacity && live == t->size &&
                          t->free_slots.size() == capacity - static_cast<std::size_t>(t->size) &&
                          (t->episode_step.empty() || t->episode_step.size() == capacity);
  MLFORGE_CHECK(consistent, CorruptData, op, " '", path, "': inconsistent table state");
  for (std::size_t slot = 0; slot < capacity; ++slot) {
    const auto key = t->slots[slot].key;
    MLFORGE_CHECK(key == 0 || (t->slot_of_key(key) == static_cast<std::int64_t>(slot) && t->seq_of_key(key) < t->next_seq),
                  CorruptData, op, " '", path, "': slot ", slot, " holds a key it could not have");
  }
  t->rebuild_selectors();
  if (!sampler_order.empty()) t->sampler->restore_order(sampler_order);
  if (t->windows) {
    for (auto slot : window_order) {
      MLFORGE_CHECK(slot >= 0 && slot < c.capacity && t->slots[static_cast<std::size_t>(slot)].key != 0, CorruptData,
                    op, " '", path, "': a sequence window starts at a free slot");
      t->windows->insert(slot, 0.0, 0);
    }
  }
  return std::unique_ptr<Table>(new Table(std::move(t)));
}

}  // namespace mlforge::replay
