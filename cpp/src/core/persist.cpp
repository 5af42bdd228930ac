// Atomic, checksummed files (see persist.h).
#include "core/persist.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>

namespace mlforge::detail {
namespace {

constexpr std::size_t kHeaderBytes = 8 + 4 + 4 + 8 + 8;
constexpr std::size_t kChunk = std::size_t{1} << 20;  // a multiple of 8: chunking never changes the checksum

std::string system_error(const char* op, const std::string& what, const std::string& path) {
  return std::string("[") + op + "] " + what + " '" + path + "': " + std::strerror(errno);
}

void fsync_parent(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const std::string directory = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int fd = ::open(directory.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

void Checksum::words(const std::byte* data, std::size_t bytes) {
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

FileWriter::FileWriter(const std::string& path, const FileFormat& format) : path_(path), format_(format) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  MLFORGE_CHECK(fd_ >= 0, Unavailable, system_error(format_.save_op, "cannot create", path));
  const std::byte header[kHeaderBytes] = {};  // written last, once the payload is known
  MLFORGE_CHECK(::write(fd_, header, kHeaderBytes) == static_cast<ssize_t>(kHeaderBytes), Unavailable,
                system_error(format_.save_op, "cannot write", path_));
  buffer_.reserve(kChunk);
}

FileWriter::~FileWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void FileWriter::bytes(const std::byte* data, std::size_t n) {
  payload_ += n;
  while (n > 0) {
    const std::size_t take = std::min(n, kChunk - buffer_.size());
    buffer_.insert(buffer_.end(), data, data + take);
    data += take;
    n -= take;
    if (buffer_.size() == kChunk) flush();
  }
}

void FileWriter::flush() {
  if (buffer_.empty()) return;
  checksum_.words(buffer_.data(), buffer_.size());
  std::size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t wrote = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    MLFORGE_CHECK(wrote > 0, Unavailable, system_error(format_.save_op, "cannot write", path_));
    done += static_cast<std::size_t>(wrote);
  }
  buffer_.clear();
}

void FileWriter::finish() {
  flush();
  std::byte header[kHeaderBytes];
  std::memcpy(header, format_.magic, 8);
  std::memcpy(header + 8, &format_.version, 4);
  std::memset(header + 12, 0, 4);
  const std::uint64_t payload = payload_, sum = checksum_.value();
  std::memcpy(header + 16, &payload, 8);
  std::memcpy(header + 24, &sum, 8);
  MLFORGE_CHECK(::pwrite(fd_, header, kHeaderBytes, 0) == static_cast<ssize_t>(kHeaderBytes), Unavailable,
                system_error(format_.save_op, "cannot write", path_));
  MLFORGE_CHECK(::fsync(fd_) == 0, Unavailable, system_error(format_.save_op, "cannot fsync", path_));
  MLFORGE_CHECK(::close(fd_) == 0, Unavailable, system_error(format_.save_op, "cannot close", path_));
  fd_ = -1;
}

std::string Reader::get_string() {
  const auto n = get<std::uint64_t>();
  const auto* at = take(n);
  return std::string(reinterpret_cast<const char*>(at), n);
}

const std::byte* Reader::take(std::size_t n) {
  MLFORGE_CHECK(n <= size_ - offset_, CorruptData, "[", op_, "] '", path_, "': truncated payload");
  const std::byte* at = data_ + offset_;
  offset_ += n;
  return at;
}

void save_atomically(const std::string& path, const FileFormat& format,
                     const std::function<void(FileWriter&)>& write) {
  static std::atomic<std::uint64_t> counter{0};
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  try {
    FileWriter out(tmp, format);
    write(out);
    out.finish();
    MLFORGE_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, Unavailable,
                  system_error(format.save_op, "cannot rename onto", path));
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  fsync_parent(path);
}

VerifiedFile::VerifiedFile(const std::string& path, const FileFormat& format) : path_(path), load_op_(format.load_op) {
  const char* op = format.load_op;
  std::FILE* file = std::fopen(path.c_str(), "rb");
  MLFORGE_CHECK(file != nullptr, Unavailable, "[", op, "] cannot open '", path, "': ", std::strerror(errno));
  std::byte block[1 << 16];
  std::size_t got;
  while ((got = std::fread(block, 1, sizeof(block), file)) > 0) data_.insert(data_.end(), block, block + got);
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  MLFORGE_CHECK(!failed, Unavailable, "[", op, "] cannot read '", path, "'");
  MLFORGE_CHECK(data_.size() >= kHeaderBytes && std::memcmp(data_.data(), format.magic, 8) == 0, CorruptData, "[", op,
                "] '", path, "' is not ", format.description, " (bad magic or too short)");
  std::uint32_t version;
  std::uint64_t payload, expected_sum;
  std::memcpy(&version, data_.data() + 8, 4);
  std::memcpy(&payload, data_.data() + 16, 8);
  std::memcpy(&expected_sum, data_.data() + 24, 8);
  MLFORGE_CHECK(version == format.version, CorruptData, "[", op, "] '", path, "': format version ", version,
                ", this build reads ", format.version);
  MLFORGE_CHECK(payload == data_.size() - kHeaderBytes, CorruptData, "[", op, "] '", path, "': payload is ",
                data_.size() - kHeaderBytes, " bytes, the header says ", payload, " (a torn write?)");
  Checksum checksum;
  checksum.words(data_.data() + kHeaderBytes, payload);
  MLFORGE_CHECK(checksum.value() == expected_sum, CorruptData, "[", op, "] '", path, "': checksum mismatch");
}

Reader VerifiedFile::reader() const {
  return Reader(data_.data() + kHeaderBytes, data_.size() - kHeaderBytes, path_, load_op_);
}

}  // namespace mlforge::detail
