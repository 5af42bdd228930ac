// Philox4x64-10 block function (10 rounds) for the CPU generator.
#pragma once

#include <cstdint>

namespace mlforge::detail {

inline constexpr std::uint64_t kPhiloxM0 = 0xD2E7470EE14C6C93ULL;
inline constexpr std::uint64_t kPhiloxM1 = 0xCA5A826395121157ULL;
inline constexpr std::uint64_t kPhiloxW0 = 0x9E3779B97F4A7C15ULL;  // golden ratio
inline constexpr std::uint64_t kPhiloxW1 = 0xBB67AE8584CAA73BULL;  // sqrt(3) - 1

__extension__ typedef unsigned __int128 uint128_t;  // GCC/Clang extension; silences -Wpedantic

inline void mul_hi_lo(std::uint64_t a, std::uint64_t b, std::uint64_t& hi, std::uint64_t& lo) {
  const uint128_t product = static_cast<uint128_t>(a) * b;
  hi = static_cast<std::uint64_t>(product >> 64);
  lo = static_cast<std::uint64_t>(product);
}

inline void philox4x64_10(std::uint64_t ctr[4], std::uint64_t key0, std::uint64_t key1) {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key0 += kPhiloxW0;
      key1 += kPhiloxW1;
    }
    std::uint64_t hi0, lo0, hi1, lo1;
    mul_hi_lo(kPhiloxM0, ctr[0], hi0, lo0);
    mul_hi_lo(kPhiloxM1, ctr[2], hi1, lo1);
    const std::uint64_t next[4] = {hi1 ^ ctr[1] ^ key0, lo1, hi0 ^ ctr[3] ^ key1, lo0};
    ctr[0] = next[0];
    ctr[1] = next[1];
    ctr[2] = next[2];
    ctr[3] = next[3];
  }
}

}  // namespace mlforge::detail
