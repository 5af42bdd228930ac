// Run-time ISA dispatch for hot loops. Internal.
//
// MLFORGE_TARGET_CLONES on a (non-template) function makes GCC compile it for AVX-512, AVX2 and
// baseline x86-64 and pick one when the library loads (an ifunc), so one wheel runs everywhere
// and still uses wide vectors where the CPU has them. Elsewhere, and in sanitizer builds (whose
// runtimes cannot run ifunc resolvers), it expands to nothing.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__ELF__) && \
    !defined(MLFORGE_NO_TARGET_CLONES)
#define MLFORGE_TARGET_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MLFORGE_TARGET_CLONES
#endif

#define MLFORGE_ALWAYS_INLINE inline __attribute__((always_inline))
