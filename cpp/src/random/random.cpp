#include "mlforge/random.h"

#include <cmath>
#include <numbers>

#include "mlforge/error.h"
#include "mlforge/parallel.h"
#include "random/philox.h"

namespace mlforge {
namespace {

constexpr std::int64_t kFillGrain = 1 << 14;

void check_output(const char* op, const ArrayView& out) {
  out.require_device(op, "out", DeviceType::kCPU);
  MLFORGE_CHECK(out.dtype() == DType::kFloat32 || out.dtype() == DType::kFloat64, InvalidArgument, "[", op,
                "] out: expected dtype float32 or float64, got ", out.describe());
  out.require_contiguous(op, "out");
  out.require_writable(op, "out");
}

template <class T, class Generate>
void fill(const ArrayView& out, Generate generate) {
  T* data = static_cast<T*>(out.data());
  parallel_for(0, out.numel(), kFillGrain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) data[i] = static_cast<T>(generate(static_cast<std::uint64_t>(i)));
  });
}

template <class Generate>
void fill_any(const ArrayView& out, Generate generate) {
  if (out.dtype() == DType::kFloat32) {
    fill<float>(out, generate);
  } else {
    fill<double>(out, generate);
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
  const PhiloxBlock words = block(index);
  const double u1 = 1.0 - detail::bits_to_unit(words[0]);  // (0, 1]: log never sees 0
  const double u2 = detail::bits_to_unit(words[1]);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

void fill_uniform(const ArrayView& out, std::uint64_t seed, std::uint64_t stream, std::uint64_t offset, double low,
                  double high) {
  constexpr const char* op = "random.uniform";
  check_output(op, out);
  MLFORGE_CHECK(std::isfinite(low) && std::isfinite(high) && low < high, InvalidArgument, "[", op,
                "] low and high must be finite with low < high, got low=", low, ", high=", high);
  const CounterRng rng(seed, stream);
  const double span = high - low;
  if (out.dtype() == DType::kFloat32) {
    // Rounding to float32 can land exactly on `high`; keep the interval half-open.
    const float below_high = std::nextafter(static_cast<float>(high), static_cast<float>(low));
    fill<float>(out, [&](std::uint64_t i) {
      return std::fmin(static_cast<float>(low + span * rng.uniform(offset + i)), below_high);
    });
  } else {
    fill<double>(out, [&](std::uint64_t i) { return low + span * rng.uniform(offset + i); });
  }
}

void fill_normal(const ArrayView& out, std::uint64_t seed, std::uint64_t stream, std::uint64_t offset, double mean,
                 double std) {
  constexpr const char* op = "random.normal";
  check_output(op, out);
  MLFORGE_CHECK(std::isfinite(mean), InvalidArgument, "[", op, "] mean must be finite, got ", mean);
  MLFORGE_CHECK(std::isfinite(std) && std >= 0.0, InvalidArgument, "[", op,
                "] std must be finite and >= 0, got ", std);
  const CounterRng rng(seed, stream);
  fill_any(out, [&](std::uint64_t i) { return mean + std * rng.normal(offset + i); });
}

}  // namespace mlforge
