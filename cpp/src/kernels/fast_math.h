// Vectorisable element functions for the kernels. Internal.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/simd.h"

namespace mlforge::detail {

// exp(x) in float32 without a libm call, so loops over it vectorise: x = n ln2 + r with
// |r| <= ln2/2 (n rounded to nearest), exp(r) by a degree-7 Taylor polynomial (truncation < 2e-9 relative), times 2^n
// built in the exponent bits. Relative error about 2 float32 ulps on [-87, 88]; inputs below -87
// give ~1e-38 (a softmax term that no longer matters), NaN is the caller's to detect.
MLFORGE_ALWAYS_INLINE float fast_expf(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;
  constexpr float kLn2Lo = -2.12194440e-4f;
  // Adding and removing 1.5 * 2^23 rounds to the nearest integer with plain float adds, which
  // vectorise on every ISA (floor does not on baseline x86-64).
  constexpr float kRoundMagic = 12582912.0f;
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float n = (x * kLog2e + kRoundMagic) - kRoundMagic;
  const float r = (x - n * kLn2Hi) - n * kLn2Lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const std::int32_t bits = (static_cast<std::int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

// bfloat16 <-> float32. bfloat16 is the top half of a float32.
MLFORGE_ALWAYS_INLINE float bf16_to_float(std::uint16_t value) {
  const std::uint32_t bits = static_cast<std::uint32_t>(value) << 16;
  float out;
  std::memcpy(&out, &bits, sizeof(out));
  return out;
}

// Round to nearest even; NaN stays a (quiet) NaN.
MLFORGE_ALWAYS_INLINE std::uint16_t float_to_bf16(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>(bits >> 16);
}

}  // namespace mlforge::detail
