// Fused log-softmax + gather + masked sum over the sequence, and its backward. Each row of V
// logits is read twice while it sits in cache (max, then sum of exponentials): the [B, T, V]
// log-softmax is never written, which halves peak memory against log_softmax(...).gather(...).
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "backend/cuda_entry.h"
#include "core/simd.h"
#include "kernels/checks.h"
#include "kernels/fast_math.h"
#include "mlforge/kernels.h"
#include "mlforge/parallel.h"

namespace mlforge {
namespace {

constexpr int kLanes = 16;
constexpr std::int64_t kRowGrain = 2;

MLFORGE_ALWAYS_INLINE float load(const float* p, std::int64_t i) { return p[i]; }
MLFORGE_ALWAYS_INLINE float load(const std::uint16_t* p, std::int64_t i) { return detail::bf16_to_float(p[i]); }
MLFORGE_ALWAYS_INLINE void store(float* p, std::int64_t i, float v) { p[i] = v; }
MLFORGE_ALWAYS_INLINE void store(std::uint16_t* p, std::int64_t i, float v) { p[i] = detail::float_to_bf16(v); }

// log(sum_v exp(row[v])) with lane-parallel max and sum (vectorisable), combined in float64.
template <class T>
MLFORGE_ALWAYS_INLINE double row_logsumexp(const T* row, std::int64_t width) {
  float maxima[kLanes];
  int nans[kLanes] = {};
  for (float& m : maxima) m = -std::numeric_limits<float>::infinity();
  std::int64_t v = 0;
  for (; v + kLanes <= width; v += kLanes) {
    for (int lane = 0; lane < kLanes; ++lane) {
      const float x = load(row, v + lane);
      maxima[lane] = x > maxima[lane] ? x : maxima[lane];
      nans[lane] |= x != x;
    }
  }
  float peak = -std::numeric_limits<float>::infinity();
  bool any_nan = false;
  for (int lane = 0; lane < kLanes; ++lane) {
    peak = maxima[lane] > peak ? maxima[lane] : peak;
    any_nan = any_nan || nans[lane] != 0;
  }
  for (std::int64_t tail = v; tail < width; ++tail) {
    const float x = load(row, tail);
    peak = x > peak ? x : peak;
    any_nan = any_nan || x != x;
  }
  if (any_nan) return std::numeric_limits<double>::quiet_NaN();
  if (std::isinf(peak)) return peak;  // all -inf (no mass) or a +inf logit (all mass there)
  float sums[kLanes] = {};
  v = 0;
  for (; v + kLanes <= width; v += kLanes) {
    for (int lane = 0; lane < kLanes; ++lane) sums[lane] += detail::fast_expf(load(row, v + lane) - peak);
  }
  double total = 0.0;
  for (float s : sums) total += s;
  for (; v < width; ++v) total += detail::fast_expf(load(row, v) - peak);
  return peak + std::log(total);
}

// grad[v] = scale * ([v == target] - exp(row[v] - lse)).
template <class T>
MLFORGE_ALWAYS_INLINE void row_gradient(const T* row, std::int64_t width, float lse, float scale, std::int64_t target,
                                        T* grad) {
  for (std::int64_t v = 0; v < width; ++v) store(grad, v, -scale * detail::fast_expf(load(row, v) - lse));
  store(grad, target, scale * (1.0f - detail::fast_expf(load(row, target) - lse)));
}

// float64 logits (gradient checks, float64 training): exact libm exp, plain loops.
double logsumexp_f64(const double* row, std::int64_t width) {
  double peak = -std::numeric_limits<double>::infinity();
  for (std::int64_t v = 0; v < width; ++v) {
    if (std::isnan(row[v])) return row[v];
    peak = std::fmax(peak, row[v]);
  }
  if (std::isinf(peak)) return peak;
  double total = 0.0;
  for (std::int64_t v = 0; v < width; ++v) total += std::exp(row[v] - peak);
  return peak + std::log(total);
}

void gradient_f64(const double* row, std::int64_t width, double lse, double scale, std::int64_t target, double* grad) {
  for (std::int64_t v = 0; v < width; ++v) grad[v] = -scale * std::exp(row[v] - lse);
  grad[target] = scale * (1.0 - std::exp(row[target] - lse));
}

MLFORGE_TARGET_CLONES double logsumexp_f32(const float* row, std::int64_t width) { return row_logsumexp(row, width); }
MLFORGE_TARGET_CLONES double logsumexp_bf16(const std::uint16_t* row, std::int64_t width) {
  return row_logsumexp(row, width);
}
MLFORGE_TARGET_CLONES void gradient_f32(const float* row, std::int64_t width, float lse, float scale,
                                        std::int64_t target, float* grad) {
  row_gradient(row, width, lse, scale, target, grad);
}
MLFORGE_TARGET_CLONES void gradient_bf16(const std::uint16_t* row, std::int64_t width, float lse, float scale,
                                         std::int64_t target, std::uint16_t* grad) {
  row_gradient(row, width, lse, scale, target, grad);
}

// seq_logps, lse and grad_seq are float64 for float64 logits and float32 otherwise.
DType statistics_dtype(const ArrayView& logits) {
  return logits.dtype() == DType::kFloat64 ? DType::kFloat64 : DType::kFloat32;
}

void write_stat(const ArrayView& out, std::int64_t i, double value) {
  if (out.dtype() == DType::kFloat64) {
    static_cast<double*>(out.data())[i] = value;
  } else {
    static_cast<float*>(out.data())[i] = static_cast<float>(value);
  }
}

double read_stat(const ArrayView& in, std::int64_t i) {
  return in.dtype() == DType::kFloat64 ? static_cast<const double*>(in.data())[i]
                                       : static_cast<double>(static_cast<const float*>(in.data())[i]);
}

struct Dims {
  std::int64_t batch, steps, vocab;
};

// Shared validation of logits, targets and mask; checks every target where the mask is set.
Dims check_inputs(const char* op, const ArrayView& logits, const ArrayView& targets, const ArrayView& mask) {
  MLFORGE_CHECK(logits.ndim() == 3, InvalidArgument, "[", op, "] logits: expected [B, T, V], got ", logits.describe());
  const Dims d{logits.shape(0), logits.shape(1), logits.shape(2)};
  const DeviceType where = logits.device().type;
  detail::require_array(op, "logits", logits, {DType::kFloat32, DType::kBFloat16, DType::kFloat64},
                        {d.batch, d.steps, d.vocab}, false, where);
  MLFORGE_CHECK(d.vocab >= 1, InvalidArgument, "[", op, "] logits: the vocabulary axis is empty");
  detail::require_array(op, "targets", targets, {DType::kInt64}, {d.batch, d.steps}, false, where);
  detail::require_array(op, "mask", mask, {DType::kFloat32, DType::kUInt8, DType::kBool}, {d.batch, d.steps}, false,
                        where);
  if (where == DeviceType::kCUDA) return d;  // the device checks targets and mask itself
  const auto* ids = static_cast<const std::int64_t*>(targets.data());
  for (std::int64_t i = 0; i < d.batch * d.steps; ++i) {
    const double m = detail::mask_value(mask, i);
    MLFORGE_CHECK(std::isfinite(m), InvalidArgument, "[", op, "] mask[", i / d.steps, ", ", i % d.steps,
                  "] is not finite: ", m);
    MLFORGE_CHECK(m == 0.0 || (ids[i] >= 0 && ids[i] < d.vocab), InvalidArgument, "[", op, "] targets[", i / d.steps,
                  ", ", i % d.steps, "] = ", ids[i], " is outside the vocabulary [0, ", d.vocab,
                  ") at a position the mask keeps");
  }
  return d;
}

}  // namespace

void sequence_logprobs(const ArrayView& logits, const ArrayView& targets, const ArrayView& mask,
                       const ArrayView& seq_logps, const ArrayView& lse, Stream stream) {
  constexpr const char* op = "kernels.sequence_logprobs";
  const Dims d = check_inputs(op, logits, targets, mask);
  const DType stats = statistics_dtype(logits);
  const DeviceType where = logits.device().type;
  detail::require_array(op, "seq_logps", seq_logps, {stats}, {d.batch}, true, where);
  detail::require_array(op, "lse", lse, {stats}, {d.batch, d.steps}, true, where);
  if (where == DeviceType::kCUDA) return detail::cuda::sequence_logprobs(logits, targets, mask, seq_logps, lse, stream);
  const auto* ids = static_cast<const std::int64_t*>(targets.data());
  std::vector<double> token_logps(static_cast<std::size_t>(d.batch * d.steps), 0.0);
  std::vector<double> row_lses(token_logps.size(), 0.0);
  parallel_for(0, d.batch * d.steps, kRowGrain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      if (detail::mask_value(mask, i) == 0.0) continue;
      double row_lse = 0.0, target_logit = 0.0;
      switch (logits.dtype()) {
        case DType::kBFloat16: {
          const auto* row = static_cast<const std::uint16_t*>(logits.data()) + i * d.vocab;
          row_lse = logsumexp_bf16(row, d.vocab);
          target_logit = detail::bf16_to_float(row[ids[i]]);
          break;
        }
        case DType::kFloat64: {
          const auto* row = static_cast<const double*>(logits.data()) + i * d.vocab;
          row_lse = logsumexp_f64(row, d.vocab);
          target_logit = row[ids[i]];
          break;
        }
        default: {
          const auto* row = static_cast<const float*>(logits.data()) + i * d.vocab;
          row_lse = logsumexp_f32(row, d.vocab);
          target_logit = row[ids[i]];
        }
      }
      row_lses[static_cast<std::size_t>(i)] = row_lse;
      token_logps[static_cast<std::size_t>(i)] = target_logit - row_lse;
    }
  });
  for (std::int64_t b = 0; b < d.batch; ++b) {  // fixed order: independent of the thread count
    double total = 0.0;
    for (std::int64_t t = 0; t < d.steps; ++t) {
      const std::int64_t i = b * d.steps + t;
      const double m = detail::mask_value(mask, i);
      if (m != 0.0) total += m * token_logps[static_cast<std::size_t>(i)];
    }
    write_stat(seq_logps, b, total);
  }
  for (std::int64_t i = 0; i < d.batch * d.steps; ++i) write_stat(lse, i, row_lses[static_cast<std::size_t>(i)]);
}

void sequence_logprobs_backward(const ArrayView& logits, const ArrayView& targets, const ArrayView& mask,
                                const ArrayView& lse, const ArrayView& grad_seq, const ArrayView& grad_logits,
                                Stream stream) {
  constexpr const char* op = "kernels.sequence_logprobs_backward";
  const Dims d = check_inputs(op, logits, targets, mask);
  const DType stats = statistics_dtype(logits);
  const DeviceType where = logits.device().type;
  detail::require_array(op, "lse", lse, {stats}, {d.batch, d.steps}, false, where);
  detail::require_array(op, "grad_seq", grad_seq, {stats}, {d.batch}, false, where);
  detail::require_array(op, "grad_logits", grad_logits, {logits.dtype()}, {d.batch, d.steps, d.vocab}, true, where);
  if (where == DeviceType::kCUDA) {
    return detail::cuda::sequence_logprobs_backward(logits, targets, mask, lse, grad_seq, grad_logits, stream);
  }
  const auto* ids = static_cast<const std::int64_t*>(targets.data());
  const std::size_t row_bytes = static_cast<std::size_t>(d.vocab) * dtype_size(logits.dtype());
  parallel_for(0, d.batch * d.steps, kRowGrain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      const double scale = read_stat(grad_seq, i / d.steps) * detail::mask_value(mask, i);
      if (scale == 0.0) {
        std::memset(static_cast<char*>(grad_logits.data()) + static_cast<std::size_t>(i) * row_bytes, 0, row_bytes);
        continue;
      }
      const double row_lse = read_stat(lse, i);
      switch (logits.dtype()) {
        case DType::kBFloat16:
          gradient_bf16(static_cast<const std::uint16_t*>(logits.data()) + i * d.vocab, d.vocab,
                        static_cast<float>(row_lse), static_cast<float>(scale), ids[i],
                        static_cast<std::uint16_t*>(grad_logits.data()) + i * d.vocab);
          break;
        case DType::kFloat64:
          gradient_f64(static_cast<const double*>(logits.data()) + i * d.vocab, d.vocab, row_lse, scale, ids[i],
                       static_cast<double*>(grad_logits.data()) + i * d.vocab);
          break;
        default:
          gradient_f32(static_cast<const float*>(logits.data()) + i * d.vocab, d.vocab, static_cast<float>(row_lse),
                       static_cast<float>(scale), ids[i], static_cast<float*>(grad_logits.data()) + i * d.vocab);
      }
    }
  });
}

}  // namespace mlforge
