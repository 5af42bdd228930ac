// Run-time CPU feature detection. Internal.
#pragma once

namespace mlforge::detail {

// Best SIMD instruction set this CPU supports: "avx512", "avx2", "avx", "sse4.2", "sse2" on
// x86-64, "neon"/"sve" on arm64, "none" elsewhere.
const char* detect_simd() noexcept;

}  // namespace mlforge::detail
