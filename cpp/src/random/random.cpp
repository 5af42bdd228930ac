#include "mlforge/random.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "backend/cuda_entry.h"
#include "mlforge/error.h"
#include "mlforge/parallel.h"
#include "random/philox.h"

namespace mlforge {
namespace {

constexpr std::int64_t kFillGrain = 1 << 14;

void check_output(const char* op, const ArrayView& out) {
  MLFORGE_CHECK(out.dtype() == DType::kFloat32 || out.dtype() == DType::kFloat64, InvalidArgument, "[", op,
                "] out: expected dtype float32 or float64, got ", out.describe());
  out.require_contiguous(op, "out");
  out.require_writable(op, "out");
}

// Every Philox block yields four values; element i of a sequence is lane i % 4 of block i / 4.
// `block_values(b, values)` computes the four values of block b. Edge elements that do not start
// a whole block are computed alone, so the result is independent of the chunking.
template <class T, class BlockValues>
void fill_blocks(const ArrayView& out, std::uint64_t offset, BlockValues block_values) {
  T* data = static_cast<T*>(out.data());
  parallel_for(0, out.numel(), kFillGrain, [&](std::int64_t lo, std::int64_t hi) {
    double values[4];
    std::int64_t i = lo;
    while (i < hi) {
      const std::uint64_t index = offset + static_cast<std::uint64_t>(i);
      const std::uint64_t lane = index % 4;
      block_values(index / 4, values);
      const std::int64_t take = std::min<std::int64_t>(static_cast<std::int64_t>(4 - lane), hi - i);
      for (std::int64_t k = 0; k < take; ++k) data[i + k] = static_cast<T>(values[lane + static_cast<std::uint64_t>(k)]);
      i += take;
    }
  });
}

template <class BlockValues>
void fill_any(const ArrayView& out, std::uint64_t offset, BlockValues block_values) {
  if (out.dtype() == DType::kFloat32) {
    fill_blocks<float>(out, offset, block_values);
  } else {
    fill_blocks<double>(out, offset, block_values);
  }
}

// Box-Muller on words (2p, 2p+1) gives lanes 2p (cosine) and 2p+1 (sine).
void normal_block(const PhiloxBlock& words, double values[4]) {
  for (int pair = 0; pair < 2; ++pair) {
    const double u1 = 1.0 - detail::bits_to_unit(words[2 * pair]);  // (0, 1]: log never sees 0
    const double angle = 2.0 * std::numbers::pi * detail::bits_to_unit(words[2 * pair + 1]);
    const double radius = std::sqrt(-2.0 * std::log(u1));
    values[2 * pair] = radius * std::cos(angle);
    values[2 * pair + 1] = radius * std::sin(angle);
  }
}

}  // namespace

PhiloxBlock philox4x64(const PhiloxBlock& counter, const std::array<std::uint64_t, 2>& key) noexcept {
  PhiloxBlock block = counter;
  detail::philox4x64_10(block.data(), key[0], key[1]);
  return block;
}

PhiloxBlock CounterRng::block(std::uint64_t index) const noexcept { return philox4x64({index, 0, 0, 0}, key_); }

std::uint64_t CounterRng::bits(std::uint64_t index) const noexcept { return block(index / 4)[index % 4]; }

double CounterRng::uniform(std::uint64_t index) const noexcept { return detail::bits_to_unit(bits(index)); }

double CounterRng::normal(std::uint64_t index) const noexcept {
  double values[4];
  normal_block(block(index / 4), values);
  return values[index % 4];
}

void fill_uniform(const ArrayView& out, std::uint64_t seed, std::uint64_t stream, std::uint64_t offset, double low,
                  double high, Stream cuda_stream) {
  constexpr const char* op = "random.uniform";
  check_output(op, out);
  MLFORGE_CHECK(std::isfinite(low) && std::isfinite(high) && low < high, InvalidArgument, "[", op,
                "] low and high must be finite with low < high, got low=", low, ", high=", high);
  if (out.device().is_cuda()) return detail::cuda::fill_uniform(out, seed, stream, offset, low, high, cuda_stream);
  const CounterRng rng(seed, stream);
  const double span = high - low;
  // Rounding (to float32, or of low + span * u) can land exactly on `high`: clamp to the value just
  // below it so the interval stays half-open.
  const double below_high = out.dtype() == DType::kFloat32
                                ? static_cast<double>(std::nextafter(static_cast<float>(high), static_cast<float>(low)))
                                : std::nextafter(high, low);
  fill_any(out, offset, [&](std::uint64_t block_index, double values[4]) {
    const PhiloxBlock words = rng.block(block_index);
    for (int lane = 0; lane < 4; ++lane) values[lane] = std::fmin(low + span * detail::bits_to_unit(words[lane]), below_high);
  });
}

void fill_normal(const ArrayView& out, std::uint64_t seed, std::uint64_t stream, std::uint64_t offset, double mean,
                 double std, Stream cuda_stream) {
  constexpr const char* op = "random.normal";
  check_output(op, out);
  MLFORGE_CHECK(std::isfinite(mean), InvalidArgument, "[", op, "] mean must be finite, got ", mean);
  MLFORGE_CHECK(std::isfinite(std) && std >= 0.0, InvalidArgument, "[", op,
                "] std must be finite and >= 0, got ", std);
  if (out.device().is_cuda()) return detail::cuda::fill_normal(out, seed, stream, offset, mean, std, cuda_stream);
  const CounterRng rng(seed, stream);
  fill_any(out, offset, [&](std::uint64_t block_index, double values[4]) {
    normal_block(rng.block(block_index), values);
    for (int lane = 0; lane < 4; ++lane) values[lane] = mean + std * values[lane];
  });
}

}  // namespace mlforge
