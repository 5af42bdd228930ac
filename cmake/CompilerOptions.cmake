# Project-wide compiler settings. Public headers stay C++17-clean; the engine itself is C++20.
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)   # the static engine is linked into the Python module
set(CMAKE_CXX_VISIBILITY_PRESET hidden)
set(CMAKE_VISIBILITY_INLINES_HIDDEN ON)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

if(MLFORGE_USE_CCACHE)
  find_program(MLFORGE_CCACHE ccache)
  if(MLFORGE_CCACHE)
    set(CMAKE_CXX_COMPILER_LAUNCHER "${MLFORGE_CCACHE}")
    set(CMAKE_CUDA_COMPILER_LAUNCHER "${MLFORGE_CCACHE}")
  endif()
endif()

# Bit-reproducible results across machines: never fuse a*b+c into an FMA behind our back (the
# run-time ISA dispatch would otherwise round differently on AVX2/AVX-512 than on baseline x86-64).
# -fno-math-errno: math functions never set errno, so sqrt and friends inline and vectorise (the
# engine reports bad values itself and never reads errno). -fno-trapping-math: the engine never
# reads floating-point exception flags, so GCC may turn `c ? x : y` on doubles into blends; with
# trapping math it keeps such selects as branches on AVX2 (AVX-512 masks them), which left loops
# like Box-Muller scalar there. Neither option changes a single rounding.
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-ffp-contract=off> $<$<COMPILE_LANGUAGE:CXX>:-fno-math-errno>
                      $<$<COMPILE_LANGUAGE:CXX>:-fno-trapping-math>)
endif()

# Warnings for the project's own targets only (third-party headers are included as SYSTEM).
add_library(mlforge_warnings INTERFACE)
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(mlforge_warnings INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion>)
elseif(MSVC)
  target_compile_options(mlforge_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:/W4>)
endif()

if(MLFORGE_SANITIZE)
  list(JOIN MLFORGE_SANITIZE "," _mlforge_sanitizers)
  add_compile_options(-fsanitize=${_mlforge_sanitizers} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${_mlforge_sanitizers})
  # ifunc resolvers (target_clones) run before the sanitizer runtime is initialised and crash it.
  add_compile_definitions(MLFORGE_NO_TARGET_CLONES)
endif()
