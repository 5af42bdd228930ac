// Table checkpoints. Layout: magic "MLFRPLAY", u32 format version, u32 reserved, u64 payload
// bytes, u64 payload checksum, then the payload: the configuration, the counters and RNG position,
// the per-slot keys, priorities, sample counts and episode steps, the free-slot stack, the order of
// the uniform selectors, and the field columns. Little-endian, as the machine writes it (the
// loader rejects a file from a machine of the other endianness through the magic).
//
// save() streams into `path.tmp-<pid>`, fsyncs, renames over `path` and fsyncs the directory, so a
// kill at any moment leaves either the old file or the new one.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>

#include "mlforge/error.h"
#include "replay/table_impl.h"

namespace mlforge::replay {
namespace {

constexpr char kMagic[8] = {'M', 'L', 'F', 'R', 'P', 'L', 'A', 'Y'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kHeaderBytes = 8 + 4 + 4 + 8 + 8;
constexpr std::size_t kChunk = std::size_t{1} << 20;  // a multiple of 8: chunking never changes the checksum

// A word-at-a-time 64-bit mixing checksum: catches torn writes and flipped bits (not an adversary).
class Checksum {
 public:
  void words(const std::byte* data, std::size_t bytes) {  // bytes % 8 == 0 except for the last call
    std::size_t i = 0;
    for (; i + 8 <= bytes; i += 8) {
      std::uint64_t word;
      std::memcpy(&word, data + i, 8);
      mix(word);
    }
    if (i < bytes) {
      std::uint64_t word = 0;
      std::memcpy(&word, data + i, bytes - i);
      mix(word ^ (std::uint64_t{0xA5} << 56));
    }
  }
  std::uint64_t value() const { return state_ ^ (state_ >> 31); }

 private:
  void mix(std::uint64_t word) {
    state_ = (state_ ^ word) * 0x9E3779B97F4A7C15ULL;
    state_ ^= state_ >> 29;
  }
  std::uint64_t state_ = 0x6A09E667F3BCC908ULL;
};

std::string system_error(const std::string& what, const std::string& path) {
  return "[replay.save] " + what + " '" + path + "': " + std::strerror(errno);
}

class FileWriter {
 public:
  FileWriter(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    MLFORGE_CHECK(fd_ >= 0, Unavailable, system_error("cannot create", path));
    buffer_.reserve(kChunk);
    put_raw(std::vector<std::byte>(kHeaderBytes));  // header, written last
  }
  ~FileWriter() {
    if (fd_ >= 0) ::close(fd_);
  }
  template <class T>
  void put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    bytes(reinterpret_cast<const std::byte*>(&value), sizeof(T));
  }
  void put(const std::string& text) {
    put<std::uint64_t>(text.size());
    bytes(reinterpret_cast<const std::byte*>(text.data()), text.size());
  }
  template <class T>
  void put(const std::vector<T>& values) {
    put<std::uint64_t>(values.size());
    bytes(reinterpret_cast<const std::byte*>(values.data()), values.size() * sizeof(T));
  }
  void bytes(const std::byte* data, std::size_t n) {
    payload_ += n;
    while (n > 0) {
      const std::size_t take = std::min(n, kChunk - buffer_.size());
      buffer_.insert(buffer_.end(), data, data + take);
      data += take;
      n -= take;
      if (buffer_.size() == kChunk) flush();
    }
  }
  void finish() {
    flush();
    std::byte header[kHeaderBytes];
    std::memcpy(header, kMagic, 8);
    std::memcpy(header + 8, &kVersion, 4);
    std::memset(header + 12, 0, 4);
    const std::uint64_t payload = payload_, sum = checksum_.value();
    std::memcpy(header + 16, &payload, 8);
    std::memcpy(header + 24, &sum, 8);
    MLFORGE_CHECK(::pwrite(fd_, header, kHeaderBytes, 0) == static_cast<ssize_t>(kHeaderBytes), Unavailable,
                  system_error("cannot write", path_));
    MLFORGE_CHECK(::fsync(fd_) == 0, Unavailable, system_error("cannot fsync", path_));
    MLFORGE_CHECK(::close(fd_) == 0, Unavailable, system_error("cannot close", path_));
    fd_ = -1;
  }

 private:
  void put_raw(const std::vector<std::byte>& data) {
    MLFORGE_CHECK(::write(fd_, data.data(), data.size()) == static_cast<ssize_t>(data.size()), Unavailable,
                  system_error("cannot write", path_));
  }
  void flush() {
    if (buffer_.empty()) return;
    checksum_.words(buffer_.data(), buffer_.size());
    std::size_t done = 0;
    while (done < buffer_.size()) {
      const ssize_t wrote = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
      MLFORGE_CHECK(wrote > 0, Unavailable, system_error("cannot write", path_));
      done += static_cast<std::size_t>(wrote);
    }
    buffer_.clear();
  }

  std::string path_;
  int fd_ = -1;
  std::vector<std::byte> buffer_;
  std::uint64_t payload_ = 0;
  Checksum checksum_;
};

class Reader {
 public:
  Reader(const std::byte* data, std::size_t size, const std::string& path) : data_(data), size_(size), path_(path) {}
  template <class T>
  T get() {
    T value;
    std::memcpy(&value, take(sizeof(T)), sizeof(T));
    return value;
  }
  std::string get_string() {
    const auto n = get<std::uint64_t>();
    const auto* at = take(n);
    return std::string(reinterpret_cast<const char*>(at), n);
  }
  template <class T>
  std::vector<T> get_vector() {
    const auto n = get<std::uint64_t>();
    MLFORGE_CHECK(n <= size_ / sizeof(T), CorruptData, "[replay.load] '", path_, "': a section is longer than the file");
    std::vector<T> values(n);
    const std::byte* at = take(n * sizeof(T));
    if (n > 0) std::memcpy(values.data(), at, n * sizeof(T));  // an empty vector's data() may be null
    return values;
  }
  const std::byte* take(std::size_t n) {
    MLFORGE_CHECK(n <= size_ - offset_, CorruptData, "[replay.load] '", path_, "': truncated payload");
    const std::byte* at = data_ + offset_;
    offset_ += n;
    return at;
  }
  bool at_end() const { return offset_ == size_; }

 private:
  const std::byte* data_;
  std::size_t size_;
  std::size_t offset_ = 0;
  std::string path_;
};

void fsync_parent(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const std::string directory = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int fd = ::open(directory.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::vector<std::byte> read_file(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  MLFORGE_CHECK(file != nullptr, Unavailable, "[replay.load] cannot open '", path, "': ", std::strerror(errno));
  std::vector<std::byte> data;
  std::byte block[1 << 16];
  std::size_t got;
  while ((got = std::fread(block, 1, sizeof(block), file)) > 0) data.insert(data.end(), block, block + got);
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  MLFORGE_CHECK(!failed, Unavailable, "[replay.load] cannot read '", path, "'");
  return data;
}

}  // namespace

void Table::save(const std::string& path) const {
  static std::atomic<std::uint64_t> counter{0};
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  std::lock_guard<std::mutex> lock(impl_->mutex);
  const Impl& t = *impl_;
  try {
    FileWriter out(tmp);
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
    out.finish();
    MLFORGE_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, Unavailable, system_error("cannot rename onto", path));
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  fsync_parent(path);
}

std::unique_ptr<Table> Table::load(const std::string& path) {
  const std::vector<std::byte> file = read_file(path);
  const char* op = "[replay.load]";
  MLFORGE_CHECK(file.size() >= kHeaderBytes && std::memcmp(file.data(), kMagic, 8) == 0, CorruptData, op, " '", path,
                "' is not a replay checkpoint (bad magic or too short)");
  std::uint32_t version;
  std::uint64_t payload, expected_sum;
  std::memcpy(&version, file.data() + 8, 4);
  std::memcpy(&payload, file.data() + 16, 8);
  std::memcpy(&expected_sum, file.data() + 24, 8);
  MLFORGE_CHECK(version == kVersion, CorruptData, op, " '", path, "': format version ", version, ", this build reads ",
                kVersion);
  MLFORGE_CHECK(payload == file.size() - kHeaderBytes, CorruptData, op, " '", path, "': payload is ",
                file.size() - kHeaderBytes, " bytes, the header says ", payload, " (a torn write?)");
  Checksum checksum;
  checksum.words(file.data() + kHeaderBytes, payload);
  MLFORGE_CHECK(checksum.value() == expected_sum, CorruptData, op, " '", path, "': checksum mismatch");

  Reader in(file.data() + kHeaderBytes, payload, path);
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
