// Seedless 64-bit hashing for the dedup engine: token bytes, token-hash sequences, band keys.
// Stable across releases: signatures and indexes on disk depend on these exact functions. Internal.
#pragma once

#include <cstdint>

namespace mlforge::detail::dedup {

inline constexpr std::uint64_t kMul1 = 0x9E3779B97F4A7C15ULL;
inline constexpr std::uint64_t kMul2 = 0xC2B2AE3D27D4EB4FULL;

inline std::uint64_t rotl64(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

/// Murmur3's 64-bit finaliser: a bijection with full avalanche.
inline std::uint64_t fmix64(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDULL;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ULL;
  x ^= x >> 33;
  return x;
}

/// Hashes a byte stream fed one byte at a time, eight bytes per mixing round.
class ByteHasher {
 public:
  void push(std::uint8_t byte) {
    word_ |= std::uint64_t{byte} << (8 * fill_);
    ++length_;
    if (++fill_ == 8) {
      state_ = rotl64((state_ ^ word_) * kMul1, 31) * kMul2;
      word_ = 0;
      fill_ = 0;
    }
  }
  void push_utf8(std::uint32_t cp) {
    if (cp < 0x80) {
      push(static_cast<std::uint8_t>(cp));
    } else if (cp < 0x800) {
      push(static_cast<std::uint8_t>(0xC0 | (cp >> 6)));
      push(static_cast<std::uint8_t>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      push(static_cast<std::uint8_t>(0xE0 | (cp >> 12)));
      push(static_cast<std::uint8_t>(0x80 | ((cp >> 6) & 0x3F)));
      push(static_cast<std::uint8_t>(0x80 | (cp & 0x3F)));
    } else {
      push(static_cast<std::uint8_t>(0xF0 | (cp >> 18)));
      push(static_cast<std::uint8_t>(0x80 | ((cp >> 12) & 0x3F)));
      push(static_cast<std::uint8_t>(0x80 | ((cp >> 6) & 0x3F)));
      push(static_cast<std::uint8_t>(0x80 | (cp & 0x3F)));
    }
  }
  bool empty() const { return length_ == 0; }
  std::uint64_t finish() const { return fmix64(state_ ^ rotl64(word_ * kMul2, 17) ^ (length_ * kMul1)); }
  void reset() { *this = ByteHasher(); }

 private:
  std::uint64_t state_ = 0x243F6A8885A308D3ULL;
  std::uint64_t word_ = 0;
  std::uint64_t length_ = 0;
  int fill_ = 0;
};

/// Order-dependent hash of a sequence of 64-bit values (shingles, band rows, fingerprints).
class SequenceHasher {
 public:
  explicit SequenceHasher(std::uint64_t key = 0x13198A2E03707344ULL) : state_(key) {}
  void push(std::uint64_t value) {
    state_ = rotl64((state_ ^ value) * kMul1, 29) * kMul2;
    ++count_;
  }
  std::uint64_t finish() const { return fmix64(state_ ^ count_); }

 private:
  std::uint64_t state_;
  std::uint64_t count_ = 0;
};

}  // namespace mlforge::detail::dedup
