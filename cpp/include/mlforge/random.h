// Counter-based random numbers: Philox4x64-10 (Salmon et al., "Parallel random numbers: as easy as
// 1, 2, 3", SC 2011), the same generator as numpy.random.Philox.
//
// A value is a pure function of (seed, stream, index): the key is (seed, stream) and the counter
// is the index. Any thread can therefore compute any element without shared state, and results do
// not depend on the thread count or the order of work. The round function is plain integer
// arithmetic, so a CUDA twin can reproduce it bit for bit.
//
// Thread-safety: everything here is pure or operates on caller-owned memory. Errors: fill_*
// validate their output view and parameters and throw InvalidArgument (bad dtype, read-only or
// non-contiguous output, non-finite or inverted bounds, negative standard deviation).
#pragma once

#include <array>
#include <cstdint>

#include "mlforge/api.h"
#include "mlforge/array.h"

namespace mlforge {

using PhiloxBlock = std::array<std::uint64_t, 4>;

/// One Philox4x64-10 block: 10 rounds over a 256-bit counter with a 128-bit key.
MLFORGE_API PhiloxBlock philox4x64(const PhiloxBlock& counter, const std::array<std::uint64_t, 2>& key) noexcept;

/// Stateless generator for one (seed, stream) pair; element i of any sequence depends only on i.
class MLFORGE_API CounterRng {
 public:
  CounterRng(std::uint64_t seed, std::uint64_t stream) noexcept : key_{seed, stream} {}

  /// The four 64-bit words of block `index` (counter = {index, 0, 0, 0}).
  PhiloxBlock block(std::uint64_t index) const noexcept;
  /// 64 random bits for element `index` (word index % 4 of block index / 4).
  std::uint64_t bits(std::uint64_t index) const noexcept;
  /// Uniform double in [0, 1) with 53 random bits, for element `index`.
  double uniform(std::uint64_t index) const noexcept;
  /// Standard normal for element `index`: Box-Muller on block index / 4, whose words (0, 1) give
  /// elements 0 (cosine) and 1 (sine) and words (2, 3) give elements 2 and 3. log and sin/cos are
  /// float64 polynomials accurate to a few ulps (identical on CUDA).
  double normal(std::uint64_t index) const noexcept;

 private:
  std::array<std::uint64_t, 2> key_;
};

/// Fills `out` (float32 or float64, contiguous, writable) with uniform values in [low, high):
/// out[i] = low + (high - low) * uniform(offset + i). Multi-threaded and deterministic. A CUDA `out`
/// is filled on `cuda_stream` with bit-identical values (uniform and normal alike: the normal's log
/// and sin/cos are the engine's own float64 polynomials, not libm's).
MLFORGE_API void fill_uniform(const ArrayView& out, std::uint64_t seed, std::uint64_t stream,
                              std::uint64_t offset, double low = 0.0, double high = 1.0, Stream cuda_stream = {});

/// Fills `out` with normal values: out[i] = mean + std * normal(offset + i).
MLFORGE_API void fill_normal(const ArrayView& out, std::uint64_t seed, std::uint64_t stream,
                             std::uint64_t offset, double mean = 0.0, double std = 1.0, Stream cuda_stream = {});

}  // namespace mlforge
