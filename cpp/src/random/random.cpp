#include "mlforge/random.h"

#include <algorithm>
#include <cmath>

#include "backend/cuda_entry.h"
#include "core/simd.h"
#include "mlforge/error.h"
#include "mlforge/parallel.h"
#include "random/box_muller.h"
#include "random/fill.h"
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

constexpr std::int64_t kBatchBlocks = 64;

// Every Philox block yields four values; element i of a sequence is lane i % 4 of block i / 4.
// `batch_values(first_block, count, values)` writes the 4 * count values of blocks first_block ..
// first_block + count - 1. Each element depends only on its own block, so the result does not
// depend on the chunking or the batch boundaries.
// With kAdd, each value is added to the element already there (in float64, rounded once).
template <class T, bool kAdd, class BatchValues>
void fill_blocks(const ArrayView& out, std::uint64_t offset, BatchValues batch_values) {
  T* data = static_cast<T*>(out.data());
  parallel_for(0, out.numel(), kFillGrain, [&](std::int64_t lo, std::int64_t hi) {
    double values[4 * kBatchBlocks];
    std::int64_t i = lo;
    while (i < hi) {
      const std::uint64_t index = offset + static_cast<std::uint64_t>(i);
      const auto lane = static_cast<std::int64_t>(index % 4);
      const std::int64_t remaining = hi - i;
      const std::int64_t blocks = std::min<std::int64_t>(kBatchBlocks, (lane + remaining + 3) / 4);
      batch_values(index / 4, blocks, values);
      const std::int64_t take = std::min<std::int64_t>(4 * blocks - lane, remaining);
      if constexpr (kAdd) {
        for (std::int64_t k = 0; k < take; ++k) {
          data[i + k] = static_cast<T>(static_cast<double>(data[i + k]) + values[lane + k]);
        }
      } else {
        for (std::int64_t k = 0; k < take; ++k) data[i + k] = static_cast<T>(values[lane + k]);
      }
      i += take;
    }
  });
}

template <bool kAdd = false, class BatchValues>
void fill_any(const ArrayView& out, std::uint64_t offset, BatchValues batch_values) {
  if (out.dtype() == DType::kFloat32) {
    fill_blocks<float, kAdd>(out, offset, batch_values);
  } else {
    fill_blocks<double, kAdd>(out, offset, batch_values);
  }
}

// Box-Muller over a batch of Philox words (see box_muller.h): the same arithmetic as
// normals_from_block, in a loop the compiler vectorises (the Philox rounds before it cannot be).
MLFORGE_TARGET_CLONES void box_muller_batch(const std::uint64_t* words, double* out, std::int64_t pairs, double mean,
                                            double std) {
  for (std::int64_t p = 0; p < pairs; ++p) {
    const double u1 = 1.0 - detail::word_to_unit(words[2 * p]);
    const double u2 = detail::word_to_unit(words[2 * p + 1]);
    const double radius = std::sqrt(-2.0 * detail::unit_log(u1));
    double sine, cosine;
    detail::sincos_turns(u2, &sine, &cosine);
    out[2 * p] = mean + std * (radius * cosine);
    out[2 * p + 1] = mean + std * (radius * sine);
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

double CounterRng::uniform(std::uint64_t index) const noexcept { return detail::word_to_unit(bits(index)); }

double CounterRng::normal(std::uint64_t index) const noexcept {
  double values[4];
  detail::normals_from_block(block(index / 4).data(), values);
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
  fill_any(out, offset, [&](std::uint64_t first_block, std::int64_t count, double* values) {
    for (std::int64_t b = 0; b < count; ++b) {
      const PhiloxBlock words = rng.block(first_block + static_cast<std::uint64_t>(b));
      for (int lane = 0; lane < 4; ++lane) {
        values[4 * b + lane] = std::fmin(low + span * detail::word_to_unit(words[static_cast<std::size_t>(lane)]), below_high);
      }
    }
  });
}

namespace {
template <bool kAdd>
void normal_values(const ArrayView& out, std::uint64_t seed, std::uint64_t stream, std::uint64_t offset, double mean,
                   double std) {
  const CounterRng rng(seed, stream);
  fill_any<kAdd>(out, offset, [&](std::uint64_t first_block, std::int64_t count, double* values) {
    std::uint64_t words[4 * kBatchBlocks];
    for (std::int64_t b = 0; b < count; ++b) {
      const PhiloxBlock block = rng.block(first_block + static_cast<std::uint64_t>(b));
      std::copy(block.begin(), block.end(), words + 4 * b);
    }
    box_muller_batch(words, values, 2 * count, mean, std);
  });
}
}  // namespace

void detail::add_normal(const ArrayView& out, std::uint64_t seed, std::uint64_t stream, double std) {
  normal_values<true>(out, seed, stream, 0, 0.0, std);
}

void fill_normal(const ArrayView& out, std::uint64_t seed, std::uint64_t stream, std::uint64_t offset, double mean,
                 double std, Stream cuda_stream) {
  constexpr const char* op = "random.normal";
  check_output(op, out);
  MLFORGE_CHECK(std::isfinite(mean), InvalidArgument, "[", op, "] mean must be finite, got ", mean);
  MLFORGE_CHECK(std::isfinite(std) && std >= 0.0, InvalidArgument, "[", op,
                "] std must be finite and >= 0, got ", std);
  if (out.device().is_cuda()) return detail::cuda::fill_normal(out, seed, stream, offset, mean, std, cuda_stream);
  normal_values<false>(out, seed, stream, offset, mean, std);
}

}  // namespace mlforge
