// Box-Muller from Philox words with our own float64 log and sin/cos: plain IEEE arithmetic that
// vectorises on the CPU (libm calls do not) and compiles unchanged for CUDA, so normal noise is
// bit-identical on both (given -ffp-contract=off and --fmad=false). Accuracy: a few ulps, checked
// against libm in the tests. Shared by cpp/src/random and cuda/kernels; no CUDA-only code here.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define MLFORGE_HOST_DEVICE __host__ __device__
#else
#define MLFORGE_HOST_DEVICE
#endif

namespace mlforge::detail {

// The top 53 bits of a Philox word times 2^-53: a uniform in [0, 1) (the CPU generator's uniforms
// too, checked bit for bit against numpy's Philox in the tests), exactly as
// static_cast<double>(word >> 11) * 2^-53, but with integer and double operations only. x86 has
// no vector uint64-to-double conversion before AVX-512DQ, and one scalar conversion kept the whole
// Box-Muller loop scalar. Exact: v >> 1 < 2^52 is read as 2^52 + (v >> 1) and 2^52 subtracted,
// doubled, and the last bit (likewise 0.0 or 1.0) added, all on integers below 2^53.
MLFORGE_HOST_DEVICE inline double word_to_unit(std::uint64_t word) {
  constexpr std::uint64_t kTwo52Bits = 0x4330000000000000ULL;  // the double 2^52
  constexpr double kTwo52 = 4503599627370496.0;
  const std::uint64_t v = word >> 11;
  const std::uint64_t half_bits = (v >> 1) | kTwo52Bits;
  const std::uint64_t last_bits = (v & 1) | kTwo52Bits;
  double half, last;
  std::memcpy(&half, &half_bits, sizeof(half));
  std::memcpy(&last, &last_bits, sizeof(last));
  return ((half - kTwo52) * 2.0 + (last - kTwo52)) * 0x1.0p-53;
}

// log(x) for x in (0, 1]: x = m 2^e with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s) with
// s = (m - 1) / (m + 1), |s| <= 0.1716, summed to s^23 (truncation < 1e-19).
MLFORGE_HOST_DEVICE inline double unit_log(double x) {
  std::uint64_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  std::int64_t exponent = static_cast<std::int64_t>((bits >> 52) & 0x7ff) - 1023;
  bits = (bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;  // mantissa in [1, 2)
  double m;
  std::memcpy(&m, &bits, sizeof(m));
  if (m > 1.4142135623730951) {
    m *= 0.5;
    exponent += 1;
  }
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = s * s;
  double p = 1.0 / 23.0;
  p = p * s2 + 1.0 / 21.0;
  p = p * s2 + 1.0 / 19.0;
  p = p * s2 + 1.0 / 17.0;
  p = p * s2 + 1.0 / 15.0;
  p = p * s2 + 1.0 / 13.0;
  p = p * s2 + 1.0 / 11.0;
  p = p * s2 + 1.0 / 9.0;
  p = p * s2 + 1.0 / 7.0;
  p = p * s2 + 1.0 / 5.0;
  p = p * s2 + 1.0 / 3.0;
  p = p * s2 + 1.0;
  constexpr double kLn2Hi = 6.93147180369123816490e-01;  // ln 2 split so e * kLn2Hi is exact
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  // exponent is in [-1075, 1]: through int32, whose conversion to double vectorises.
  const auto e = static_cast<double>(static_cast<std::int32_t>(exponent));
  return e * kLn2Hi + (2.0 * s * p + e * kLn2Lo);
}

// sin and cos of 2 pi u for u in [0, 1): quadrant from 4u (exact for 53-bit u), then Taylor
// series on [0, pi/2) to degree 22/23 (truncation < 2e-16).
MLFORGE_HOST_DEVICE inline void sincos_turns(double u, double* sine, double* cosine) {
  const double quarter_turns = 4.0 * u;
  const auto quadrant = static_cast<int>(quarter_turns);
  const double theta = (quarter_turns - quadrant) * 1.5707963267948966;
  const double t2 = theta * theta;
  double sp = -1.0 / 25852016738884976640000.0;  // -1/23!
  sp = sp * t2 + 1.0 / 51090942171709440000.0;   // 1/21!
  sp = sp * t2 - 1.0 / 121645100408832000.0;     // -1/19!
  sp = sp * t2 + 1.0 / 355687428096000.0;        // 1/17!
  sp = sp * t2 - 1.0 / 1307674368000.0;          // -1/15!
  sp = sp * t2 + 1.0 / 6227020800.0;             // 1/13!
  sp = sp * t2 - 1.0 / 39916800.0;               // -1/11!
  sp = sp * t2 + 1.0 / 362880.0;                 // 1/9!
  sp = sp * t2 - 1.0 / 5040.0;
  sp = sp * t2 + 1.0 / 120.0;
  sp = sp * t2 - 1.0 / 6.0;
  const double s = theta + theta * t2 * sp;
  double cp = 1.0 / 1124000727777607680000.0;  // 1/22!
  cp = cp * t2 - 1.0 / 2432902008176640000.0;  // -1/20!
  cp = cp * t2 + 1.0 / 6402373705728000.0;     // 1/18!
  cp = cp * t2 - 1.0 / 20922789888000.0;       // -1/16!
  cp = cp * t2 + 1.0 / 87178291200.0;          // 1/14!
  cp = cp * t2 - 1.0 / 479001600.0;            // -1/12!
  cp = cp * t2 + 1.0 / 3628800.0;              // 1/10!
  cp = cp * t2 - 1.0 / 40320.0;
  cp = cp * t2 + 1.0 / 720.0;
  cp = cp * t2 - 1.0 / 24.0;
  cp = cp * t2 + 0.5;
  const double c = 1.0 - t2 * cp;
  // Rotate by the quadrant: (sin, cos) -> (cos, -sin) per quarter turn, without branches or tables.
  const bool swap = (quadrant & 1) != 0;
  const double rotated_sin = swap ? c : s;
  const double rotated_cos = swap ? s : c;
  *sine = (quadrant & 2) ? -rotated_sin : rotated_sin;
  *cosine = ((quadrant + 1) & 2) ? -rotated_cos : rotated_cos;
}

// The four standard normals of one Philox block: words (0, 1) give lanes 0 (cos) and 1 (sin),
// words (2, 3) lanes 2 and 3. u1 = 1 - bits/2^53 lies in (0, 1], so the log is finite.
MLFORGE_HOST_DEVICE inline void normals_from_block(const std::uint64_t words[4], double out[4]) {
  for (int pair = 0; pair < 2; ++pair) {
    const double u1 = 1.0 - word_to_unit(words[2 * pair]);
    const double u2 = word_to_unit(words[2 * pair + 1]);
    const double radius = ::sqrt(-2.0 * unit_log(u1));
    double sine, cosine;
    sincos_turns(u2, &sine, &cosine);
    out[2 * pair] = radius * cosine;
    out[2 * pair + 1] = radius * sine;
  }
}

}  // namespace mlforge::detail
