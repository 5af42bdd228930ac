// Versioned, checksummed binary files written atomically. Internal.
//
// Layout: 8-byte magic, u32 format version, u32 reserved, u64 payload bytes, u64 payload checksum,
// then the payload. Little-endian, as the machine writes it (a file from a machine of the other
// endianness fails the magic check).
//
// save_atomically() streams into `path.tmp-<pid>-<n>`, fsyncs, renames over `path` and fsyncs the
// directory, so a kill at any moment leaves either the old file or the new one. read_verified()
// checks magic, version, length and checksum and throws CorruptData naming the file otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "mlforge/error.h"

namespace mlforge::detail {

/// What a file format is: its magic, the version this build writes and reads, and the operation
/// names used in error messages (e.g. "replay.save" / "replay.load").
struct FileFormat {
  char magic[8];
  std::uint32_t version;
  const char* save_op;
  const char* load_op;
  const char* description;  // "a replay checkpoint"
};

/// A word-at-a-time 64-bit mixing checksum: catches torn writes and flipped bits (not an adversary).
class Checksum {
 public:
  void words(const std::byte* data, std::size_t bytes);  // bytes % 8 == 0 except for the last call
  std::uint64_t value() const { return state_ ^ (state_ >> 31); }

 private:
  void mix(std::uint64_t word) {
    state_ = (state_ ^ word) * 0x9E3779B97F4A7C15ULL;
    state_ ^= state_ >> 29;
  }
  std::uint64_t state_ = 0x6A09E667F3BCC908ULL;
};

/// Buffered payload writer (1 MiB chunks); used only inside save_atomically().
class FileWriter {
 public:
  FileWriter(const std::string& path, const FileFormat& format);
  ~FileWriter();
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

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
    static_assert(std::is_trivially_copyable_v<T>);
    put<std::uint64_t>(values.size());
    bytes(reinterpret_cast<const std::byte*>(values.data()), values.size() * sizeof(T));
  }
  void bytes(const std::byte* data, std::size_t n);
  void finish();

 private:
  void flush();

  std::string path_;
  const FileFormat& format_;
  int fd_ = -1;
  std::vector<std::byte> buffer_;
  std::uint64_t payload_ = 0;
  Checksum checksum_;
};

/// Bounds-checked reader over a verified payload; every overrun is CorruptData.
class Reader {
 public:
  Reader(const std::byte* data, std::size_t size, std::string path, const char* load_op)
      : data_(data), size_(size), path_(std::move(path)), op_(load_op) {}
  template <class T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    std::memcpy(&value, take(sizeof(T)), sizeof(T));
    return value;
  }
  std::string get_string();
  template <class T>
  std::vector<T> get_vector() {
    const auto n = get<std::uint64_t>();
    MLFORGE_CHECK(n <= size_ / sizeof(T), CorruptData, "[", op_, "] '", path_, "': a section is longer than the file");
    std::vector<T> values(n);
    const std::byte* at = take(n * sizeof(T));
    if (n > 0) std::memcpy(values.data(), at, n * sizeof(T));  // an empty vector's data() may be null
    return values;
  }
  const std::byte* take(std::size_t n);
  bool at_end() const { return offset_ == size_; }

 private:
  const std::byte* data_;
  std::size_t size_;
  std::size_t offset_ = 0;
  std::string path_;
  const char* op_;
};

/// Writes `path` atomically: write(out) fills the payload of a temporary file that replaces `path`
/// only once complete and fsynced. On any error the temporary file is removed and `path` untouched.
void save_atomically(const std::string& path, const FileFormat& format,
                     const std::function<void(FileWriter&)>& write);

/// A whole file whose header has been checked; payload() is what follows the header.
class VerifiedFile {
 public:
  VerifiedFile(const std::string& path, const FileFormat& format);
  Reader reader() const;

 private:
  std::vector<std::byte> data_;
  std::string path_;
  const char* load_op_;
};

}  // namespace mlforge::detail
