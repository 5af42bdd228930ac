#include "core/cpu_features.h"

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

namespace mlforge::detail {

const char* detect_simd() noexcept {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) return "avx512";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
  if (__builtin_cpu_supports("avx")) return "avx";
  if (__builtin_cpu_supports("sse4.2")) return "sse4.2";
  return "sse2";
#elif defined(__aarch64__) && defined(__linux__)
#ifdef HWCAP_SVE
  if (getauxval(AT_HWCAP) & HWCAP_SVE) return "sve";
#endif
  return "neon";
#elif defined(__aarch64__)
  return "neon";
#else
  return "none";
#endif
}

}  // namespace mlforge::detail
