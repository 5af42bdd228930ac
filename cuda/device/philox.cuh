// Philox4x64-10 on the device: the same integer arithmetic as cpp/src/random/philox.h, so the
// CUDA generator reproduces the CPU one bit for bit. Device-only.
#pragma once

#include <cstdint>

namespace mlforge::device {

__device__ inline void philox4x64_10(std::uint64_t ctr[4], std::uint64_t key0, std::uint64_t key1) {
  constexpr std::uint64_t kM0 = 0xD2E7470EE14C6C93ULL, kM1 = 0xCA5A826395121157ULL;
  constexpr std::uint64_t kW0 = 0x9E3779B97F4A7C15ULL, kW1 = 0xBB67AE8584CAA73BULL;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key0 += kW0;
      key1 += kW1;
    }
    const std::uint64_t hi0 = __umul64hi(kM0, ctr[0]), lo0 = kM0 * ctr[0];
    const std::uint64_t hi1 = __umul64hi(kM1, ctr[2]), lo1 = kM1 * ctr[2];
    const std::uint64_t next0 = hi1 ^ ctr[1] ^ key0, next2 = hi0 ^ ctr[3] ^ key1;
    ctr[0] = next0;
    ctr[1] = lo1;
    ctr[2] = next2;
    ctr[3] = lo0;
  }
}

__device__ inline double bits_to_unit(std::uint64_t bits) { return static_cast<double>(bits >> 11) * 0x1.0p-53; }

}  // namespace mlforge::device
