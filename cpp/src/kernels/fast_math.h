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

// Polynomials below are evaluated by Estrin's scheme (pairs, then pairs of pairs with r^2, r^4,
// ...): the kernels build with -ffp-contract=off, so each Horner step would cost a dependent
// multiply and add, and a long Horner chain made these loops latency-bound.

// exp(x) in float64 for x <= 0, without a libm call (so loops over it vectorise), within 2 ulp:
// x = n ln2 + r (Cody-Waite: n ln2_hi is exact), |r| <= ln2/2, exp(r) by its Taylor series to
// r^13 (truncation < 4e-18 relative), times 2^n built in the exponent bits. The integer n is read
// from the low bits of the rounding sum, so no float-to-int64 conversion (missing before AVX-512)
// is needed. x below -708 is clamped: the result (~3e-308) then stands for anything smaller.
MLFORGE_ALWAYS_INLINE double fast_exp_nonpositive(double x) {
  constexpr double kLog2e = 1.4426950408889634;
  constexpr double kLn2Hi = 0.693147180369123816490;  // 32 significant bits: n * kLn2Hi is exact
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kRoundMagic = 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to an integer
  x = x < -708.0 ? -708.0 : (x > 0.0 ? 0.0 : x);
  const double shifted = x * kLog2e + kRoundMagic;
  const double n = shifted - kRoundMagic;
  const double r = (x - n * kLn2Hi) - n * kLn2Lo;
  const double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  // 1/k! for k = 0..13, in pairs c_2j + c_2j+1 r.
  const double q0 = 1.0 + r, q1 = 0.5 + r * (1.0 / 6.0), q2 = 1.0 / 24.0 + r * (1.0 / 120.0);
  const double q3 = 1.0 / 720.0 + r * (1.0 / 5040.0), q4 = 1.0 / 40320.0 + r * (1.0 / 362880.0);
  const double q5 = 1.0 / 3628800.0 + r * (1.0 / 39916800.0), q6 = 1.0 / 479001600.0 + r * (1.0 / 6227020800.0);
  const double t0 = q0 + q1 * r2, t1 = q2 + q3 * r2, t2 = q4 + q5 * r2;
  const double p = (t0 + t1 * r4) + (t2 + q6 * r4) * r8;
  std::int64_t shifted_bits, magic_bits;
  std::memcpy(&shifted_bits, &shifted, sizeof shifted_bits);
  std::memcpy(&magic_bits, &kRoundMagic, sizeof magic_bits);
  const std::int64_t exponent = (shifted_bits - magic_bits + 1023) << 52;  // 2^n, n in [-1022, 0]
  double scale;
  std::memcpy(&scale, &exponent, sizeof scale);
  return p * scale;
}

// log(1 + e) in float64 for e in [0, 1], without a libm call, within 2 ulp: with s = e / (2 + e)
// (no cancellation, unlike forming 1 + e), log(1 + e) = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...),
// and s <= 1/3 makes the series reach float64 precision by s^35.
MLFORGE_ALWAYS_INLINE double fast_log1p_unit(double e) {
  const double s = e / (2.0 + e);
  const double x = s * s, x2 = x * x, x4 = x2 * x2, x8 = x4 * x4;
  // sum_{k=1..17} x^(k-1) / (2k + 1): the series after its first term, in pairs.
  const double q0 = 1.0 / 3.0 + x * (1.0 / 5.0), q1 = 1.0 / 7.0 + x * (1.0 / 9.0);
  const double q2 = 1.0 / 11.0 + x * (1.0 / 13.0), q3 = 1.0 / 15.0 + x * (1.0 / 17.0);
  const double q4 = 1.0 / 19.0 + x * (1.0 / 21.0), q5 = 1.0 / 23.0 + x * (1.0 / 25.0);
  const double q6 = 1.0 / 27.0 + x * (1.0 / 29.0), q7 = 1.0 / 31.0 + x * (1.0 / 33.0);
  const double low = (q0 + q1 * x2) + (q2 + q3 * x2) * x4;
  const double high = (q4 + q5 * x2) + (q6 + q7 * x2) * x4;
  const double tail = (low + high * x8) + (1.0 / 35.0) * (x8 * x8);
  return 2.0 * s + 2.0 * s * x * tail;
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
