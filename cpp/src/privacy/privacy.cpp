#include "mlforge/privacy.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "core/simd.h"
#include "kernels/sum_of_squares.h"
#include "mlforge/error.h"
#include "mlforge/parallel.h"
#include "mlforge/random.h"
#include "random/fill.h"

namespace mlforge {
namespace {

constexpr std::int64_t kChunk = 1 << 15;

// Rounding the float64 product once keeps a clipped norm within 2^-24 of the bound.
MLFORGE_TARGET_CLONES void scale_floats(float* x, std::int64_t n, double factor) {
  for (std::int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(static_cast<double>(x[i]) * factor);
}

std::string element_name(const char* what, std::size_t k) { return std::string(what) + "[" + std::to_string(k) + "]"; }

void require_float_arrays(const char* op, const char* what, const std::vector<ArrayView>& arrays) {
  MLFORGE_CHECK(!arrays.empty(), InvalidArgument, "[", op, "] ", what, ": at least one array is needed, got none");
  for (std::size_t k = 0; k < arrays.size(); ++k) {
    const std::string name = element_name(what, k);
    arrays[k].require_device(op, name.c_str(), DeviceType::kCPU);
    arrays[k].require_dtype(op, name.c_str(), DType::kFloat32);
    arrays[k].require_contiguous(op, name.c_str());
    arrays[k].require_writable(op, name.c_str());
  }
}

void require_bound(const char* op, const char* name, double bound) {
  MLFORGE_CHECK(std::isfinite(bound) && bound > 0.0, InvalidArgument, "[", op, "] ", name,
                " must be finite and > 0, got ", bound);
}

// Squared L2 norm of every array: one task per (array, chunk), partials added per array in chunk
// order (deterministic for any thread count). A finite float32 squared in float64 cannot overflow,
// so a non-finite sum means a NaN or infinity in the array: reported with its first index before
// the caller modifies anything.
std::vector<double> squared_norms(const char* op, const char* what, const std::vector<ArrayView>& arrays) {
  std::vector<std::int64_t> first_task(arrays.size() + 1, 0);
  for (std::size_t k = 0; k < arrays.size(); ++k) {
    first_task[k + 1] = first_task[k] + std::max<std::int64_t>(1, (arrays[k].numel() + kChunk - 1) / kChunk);
  }
  std::vector<double> partial(static_cast<std::size_t>(first_task.back()), 0.0);
  parallel_for(0, first_task.back(), 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t task = lo; task < hi; ++task) {
      const auto k = static_cast<std::size_t>(
          std::upper_bound(first_task.begin(), first_task.end(), task) - first_task.begin() - 1);
      const std::int64_t start = (task - first_task[k]) * kChunk;
      const std::int64_t width = std::min(kChunk, arrays[k].numel() - start);
      if (width > 0) {
        const float* x = static_cast<const float*>(arrays[k].data()) + start;
        partial[static_cast<std::size_t>(task)] = detail::sum_of_squares(x, width);
      }
    }
  });
  std::vector<double> squares(arrays.size(), 0.0);
  for (std::size_t k = 0; k < arrays.size(); ++k) {
    for (std::int64_t t = first_task[k]; t < first_task[k + 1]; ++t) squares[k] += partial[static_cast<std::size_t>(t)];
    if (std::isfinite(squares[k])) continue;
    const auto* x = static_cast<const float*>(arrays[k].data());
    std::int64_t bad = 0;
    while (bad < arrays[k].numel() && std::isfinite(x[bad])) ++bad;
    throw InvalidArgument(detail::concat("[", op, "] ", element_name(what, k), ": value at flat index ", bad, " is ",
                                         x[bad], "; updates must be finite"));
  }
  return squares;
}

void scale_array(const ArrayView& a, double factor) {
  auto* x = static_cast<float*>(a.data());
  parallel_for(0, a.numel(), kChunk, [&](std::int64_t lo, std::int64_t hi) { scale_floats(x + lo, hi - lo, factor); });
}

double clip_factor(double norm, double bound) { return norm > bound ? bound / norm : 1.0; }

void require_norms_out(const char* op, const char* name, const ArrayView& a, std::size_t count) {
  a.require_device(op, name, DeviceType::kCPU);
  a.require_dtype(op, name, DType::kFloat64);
  MLFORGE_CHECK(a.ndim() == 1 && a.shape(0) == static_cast<std::int64_t>(count), InvalidArgument, "[", op, "] ", name,
                ": expected shape [", count, "], got ", a.describe());
  a.require_contiguous(op, name);
}

}  // namespace

void clip_updates(const std::vector<ArrayView>& updates, double clip_norm, const ArrayView& norms) {
  constexpr const char* op = "privacy.clip_updates";
  require_float_arrays(op, "updates", updates);
  require_bound(op, "clip_norm", clip_norm);
  require_norms_out(op, "norms", norms, updates.size());
  norms.require_writable(op, "norms");
  const std::vector<double> squares = squared_norms(op, "updates", updates);
  auto* out = static_cast<double*>(norms.data());
  for (std::size_t k = 0; k < updates.size(); ++k) {
    out[k] = std::sqrt(squares[k]);
    const double factor = clip_factor(out[k], clip_norm);
    if (factor < 1.0) scale_array(updates[k], factor);
  }
}

double clip_update_layers(const std::vector<ArrayView>& layers, double clip_norm) {
  constexpr const char* op = "privacy.clip_update_layers";
  require_float_arrays(op, "layers", layers);
  require_bound(op, "clip_norm", clip_norm);
  const std::vector<double> squares = squared_norms(op, "layers", layers);
  double total = 0.0;
  for (double s : squares) total += s;
  const double norm = std::sqrt(total);
  const double factor = clip_factor(norm, clip_norm);
  if (factor < 1.0) {
    for (const ArrayView& layer : layers) scale_array(layer, factor);
  }
  return norm;
}

void clip_layers(const std::vector<ArrayView>& layers, const ArrayView& clip_norms, const ArrayView& norms) {
  constexpr const char* op = "privacy.clip_layers";
  require_float_arrays(op, "layers", layers);
  require_norms_out(op, "clip_norms", clip_norms, layers.size());
  require_norms_out(op, "norms", norms, layers.size());
  norms.require_writable(op, "norms");
  const auto* bounds = static_cast<const double*>(clip_norms.data());
  for (std::size_t l = 0; l < layers.size(); ++l) require_bound(op, element_name("clip_norms", l).c_str(), bounds[l]);
  const std::vector<double> squares = squared_norms(op, "layers", layers);
  auto* out = static_cast<double*>(norms.data());
  for (std::size_t l = 0; l < layers.size(); ++l) {
    out[l] = std::sqrt(squares[l]);
    const double factor = clip_factor(out[l], bounds[l]);
    if (factor < 1.0) scale_array(layers[l], factor);
  }
}

void add_gaussian_noise(const ArrayView& out, double stddev, std::uint64_t seed, std::uint64_t round) {
  constexpr const char* op = "privacy.add_gaussian_noise";
  out.require_device(op, "out", DeviceType::kCPU);
  MLFORGE_CHECK(out.dtype() == DType::kFloat32 || out.dtype() == DType::kFloat64, InvalidArgument, "[", op,
                "] out: expected dtype float32 or float64, got ", out.describe());
  out.require_contiguous(op, "out");
  out.require_writable(op, "out");
  MLFORGE_CHECK(std::isfinite(stddev) && stddev >= 0.0, InvalidArgument, "[", op,
                "] stddev must be finite and >= 0, got ", stddev);
  if (stddev == 0.0) return;  // adding exact zeros would only canonicalise -0.0
  detail::add_normal(out, seed, round, stddev);
}

AdaptiveClipResult adaptive_clip_update(double clip_norm, std::int64_t unclipped, double num_clients,
                                        double target_quantile, double learning_rate, double count_noise) {
  constexpr const char* op = "privacy.adaptive_clip_update";
  require_bound(op, "clip_norm", clip_norm);
  MLFORGE_CHECK(std::isfinite(num_clients) && num_clients > 0.0, InvalidArgument, "[", op,
                "] num_clients must be finite and > 0, got ", num_clients);
  MLFORGE_CHECK(unclipped >= 0, InvalidArgument, "[", op, "] unclipped must be >= 0, got ", unclipped);
  MLFORGE_CHECK(std::isfinite(target_quantile) && target_quantile >= 0.0 && target_quantile <= 1.0, InvalidArgument,
                "[", op, "] target_quantile must be in [0, 1], got ", target_quantile);
  MLFORGE_CHECK(std::isfinite(learning_rate) && learning_rate >= 0.0, InvalidArgument, "[", op,
                "] learning_rate must be finite and >= 0, got ", learning_rate);
  MLFORGE_CHECK(std::isfinite(count_noise), InvalidArgument, "[", op, "] count_noise must be finite, got ",
                count_noise);
  const double fraction = (static_cast<double>(unclipped) + count_noise) / num_clients;
  const double next = clip_norm * std::exp(-learning_rate * (fraction - target_quantile));
  MLFORGE_CHECK(std::isfinite(next) && next > 0.0, InvalidArgument, "[", op, "] the update C * exp(-", learning_rate,
                " * (", fraction, " - ", target_quantile, ")) from C=", clip_norm,
                " leaves the positive finite range; lower learning_rate");
  return {next, fraction, unclipped};
}

AdaptiveClipResult adaptive_clip_step(const ArrayView& norms, double clip_norm, double target_quantile,
                                      double learning_rate, double count_stddev, std::uint64_t seed,
                                      std::uint64_t round) {
  constexpr const char* op = "privacy.adaptive_clip_step";
  norms.require_device(op, "norms", DeviceType::kCPU);
  norms.require_dtype(op, "norms", DType::kFloat64);
  MLFORGE_CHECK(norms.ndim() == 1 && norms.shape(0) >= 1, InvalidArgument, "[", op,
                "] norms: expected a non-empty vector of client update norms, got ", norms.describe());
  norms.require_contiguous(op, "norms");
  MLFORGE_CHECK(std::isfinite(count_stddev) && count_stddev >= 0.0, InvalidArgument, "[", op,
                "] count_stddev must be finite and >= 0, got ", count_stddev);
  require_bound(op, "clip_norm", clip_norm);
  const auto* values = static_cast<const double*>(norms.data());
  std::int64_t unclipped = 0;
  for (std::int64_t i = 0; i < norms.shape(0); ++i) {
    MLFORGE_CHECK(std::isfinite(values[i]) && values[i] >= 0.0, InvalidArgument, "[", op, "] norms[", i,
                  "] must be finite and >= 0, got ", values[i]);
    unclipped += values[i] <= clip_norm ? 1 : 0;
  }
  constexpr std::uint64_t kCountNoiseIndex = std::numeric_limits<std::uint64_t>::max() - 3;
  const double noise = count_stddev == 0.0 ? 0.0 : count_stddev * CounterRng(seed, round).normal(kCountNoiseIndex);
  return adaptive_clip_update(clip_norm, unclipped, static_cast<double>(norms.shape(0)), target_quantile,
                              learning_rate, noise);
}

double adaptive_noise_multiplier(double noise_multiplier, double count_stddev) {
  constexpr const char* op = "privacy.adaptive_noise_multiplier";
  MLFORGE_CHECK(std::isfinite(noise_multiplier) && noise_multiplier >= 0.0, InvalidArgument, "[", op,
                "] noise_multiplier must be finite and >= 0, got ", noise_multiplier);
  if (noise_multiplier == 0.0) return 0.0;
  MLFORGE_CHECK(std::isfinite(count_stddev) && 2.0 * count_stddev > noise_multiplier, InvalidArgument, "[", op,
                "] count_stddev must exceed noise_multiplier / 2 = ", noise_multiplier / 2.0, ", got ", count_stddev);
  return 1.0 / std::sqrt(1.0 / (noise_multiplier * noise_multiplier) - 1.0 / (4.0 * count_stddev * count_stddev));
}

}  // namespace mlforge
