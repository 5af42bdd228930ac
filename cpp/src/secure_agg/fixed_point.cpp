// Fixed-point encoding into Z_{2^32} and modular sums for secure aggregation.
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/simd.h"
#include "mlforge/error.h"
#include "mlforge/parallel.h"
#include "mlforge/secure_agg.h"

namespace mlforge {
namespace {

constexpr std::int64_t kGrain = 1 << 15;
constexpr std::int64_t kMaxSum = std::numeric_limits<std::int32_t>::max();  // 2^31 - 1

// Encodes n values; returns how many failed `|x| <= limit` (NaN always fails). |q| <= levels <
// 2^31 fits int32, whose conversion from double vectorises on every x86-64 level (int64 would
// need AVX-512DQ).
template <class T>
MLFORGE_ALWAYS_INLINE std::int64_t encode(const T* x, std::uint32_t* out, std::int64_t n, double scale, double levels,
                                          double limit) {
  std::int64_t bad = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double v = static_cast<double>(x[i]);
    const bool ok = std::fabs(v) <= limit;  // false for NaN
    bad += ok ? 0 : 1;
    // Comparisons, not fmin/fmax: those are NaN-aware library calls that block vectorisation. A
    // rejected value encodes as 0 so the int32 conversion never sees NaN.
    double w = ok ? v * scale : 0.0;
    w = w < -levels ? -levels : w;
    w = w > levels ? levels : w;
    out[i] = static_cast<std::uint32_t>(static_cast<std::int32_t>(std::nearbyint(w)));
  }
  return bad;
}

MLFORGE_TARGET_CLONES std::int64_t encode_f32(const float* x, std::uint32_t* out, std::int64_t n, double scale,
                                              double levels, double limit) {
  return encode(x, out, n, scale, levels, limit);
}

MLFORGE_TARGET_CLONES std::int64_t encode_f64(const double* x, std::uint32_t* out, std::int64_t n, double scale,
                                              double levels, double limit) {
  return encode(x, out, n, scale, levels, limit);
}

template <class T>
MLFORGE_ALWAYS_INLINE void decode(const std::uint32_t* sum, T* out, std::int64_t n, double step) {
  for (std::int64_t i = 0; i < n; ++i) {
    out[i] = static_cast<T>(static_cast<double>(static_cast<std::int32_t>(sum[i])) * step);
  }
}

MLFORGE_TARGET_CLONES void decode_f32(const std::uint32_t* sum, float* out, std::int64_t n, double step) {
  decode(sum, out, n, step);
}

MLFORGE_TARGET_CLONES void decode_f64(const std::uint32_t* sum, double* out, std::int64_t n, double step) {
  decode(sum, out, n, step);
}

MLFORGE_TARGET_CLONES void add_words(std::uint32_t* acc, const std::uint32_t* values, std::int64_t n, bool subtract) {
  if (subtract) {
    for (std::int64_t i = 0; i < n; ++i) acc[i] -= values[i];
  } else {
    for (std::int64_t i = 0; i < n; ++i) acc[i] += values[i];
  }
}

void require_vector(const char* op, const char* name, const ArrayView& a, bool writable) {
  a.require_device(op, name, DeviceType::kCPU);
  MLFORGE_CHECK(a.ndim() == 1, InvalidArgument, "[", op, "] ", name, ": expected a 1-D array, got ", a.describe());
  a.require_contiguous(op, name);
  if (writable) a.require_writable(op, name);
}

void require_same_length(const char* op, const char* name, const ArrayView& a, const char* ref_name,
                         const ArrayView& ref) {
  MLFORGE_CHECK(a.numel() == ref.numel(), InvalidArgument, "[", op, "] ", name, " has ", a.numel(),
                " elements but ", ref_name, " has ", ref.numel(), " (", a.describe(), " vs ", ref.describe(), ")");
}

void require_codec(const char* op, double clip, std::int64_t levels) {
  MLFORGE_CHECK(std::isfinite(clip) && clip > 0.0, InvalidArgument, "[", op, "] clip must be finite and > 0, got ",
                clip);
  MLFORGE_CHECK(levels >= 1 && levels <= kMaxSum, InvalidArgument, "[", op, "] levels must be in [1, 2^31 - 1], got ",
                levels);
}

}  // namespace

std::int64_t fixed_point_levels(std::int64_t num_clients) {
  constexpr const char* op = "secure_agg.fixed_point_levels";
  MLFORGE_CHECK(num_clients >= 1, InvalidArgument, "[", op, "] num_clients must be >= 1, got ", num_clients);
  MLFORGE_CHECK(num_clients <= kMaxSum, CapacityExceeded, "[", op, "] num_clients=", num_clients,
                " exceeds 2^31 - 1: even one level per client would overflow the 32-bit modulus");
  return kMaxSum / num_clients;
}

void quantize(const ArrayView& x, double clip, std::int64_t levels, std::int64_t num_clients, const ArrayView& out,
              RangePolicy policy) {
  constexpr const char* op = "secure_agg.quantize";
  require_vector(op, "x", x, false);
  MLFORGE_CHECK(x.dtype() == DType::kFloat32 || x.dtype() == DType::kFloat64, InvalidArgument, "[", op,
                "] x: expected dtype float32 or float64, got ", x.describe());
  require_vector(op, "out", out, true);
  out.require_dtype(op, "out", DType::kUInt32);
  require_same_length(op, "out", out, "x", x);
  require_codec(op, clip, levels);
  MLFORGE_CHECK(num_clients >= 1, InvalidArgument, "[", op, "] num_clients must be >= 1, got ", num_clients);
  MLFORGE_CHECK(levels <= kMaxSum / num_clients, CapacityExceeded, "[", op, "] num_clients=", num_clients,
                " * levels=", levels, " exceeds 2^31 - 1 = ", kMaxSum,
                ": the sum of the encodings could wrap mod 2^32; use levels <= ", kMaxSum / num_clients);
  MLFORGE_CHECK(policy == RangePolicy::kError || policy == RangePolicy::kClip, InvalidArgument, "[", op,
                "] policy must be kError (0) or kClip (1), got ", static_cast<int>(policy));
  const double scale = static_cast<double>(levels) / clip;
  const double limit = policy == RangePolicy::kError ? clip : std::numeric_limits<double>::max();
  auto* q = static_cast<std::uint32_t*>(out.data());
  const bool single = x.dtype() == DType::kFloat32;
  const auto top = static_cast<double>(levels);
  std::atomic<std::int64_t> first_bad{x.numel()};
  parallel_for(0, x.numel(), kGrain, [&](std::int64_t lo, std::int64_t hi) {
    const std::int64_t bad =
        single ? encode_f32(static_cast<const float*>(x.data()) + lo, q + lo, hi - lo, scale, top, limit)
               : encode_f64(static_cast<const double*>(x.data()) + lo, q + lo, hi - lo, scale, top, limit);
    if (bad == 0) return;
    for (std::int64_t i = lo; i < hi; ++i) {
      const double v = single ? static_cast<const float*>(x.data())[i] : static_cast<const double*>(x.data())[i];
      if (std::fabs(v) <= limit) continue;
      std::int64_t seen = first_bad.load();
      while (i < seen && !first_bad.compare_exchange_weak(seen, i)) {
      }
      return;
    }
  });
  const std::int64_t bad = first_bad.load();
  if (bad == x.numel()) return;
  const double v = single ? static_cast<const float*>(x.data())[bad] : static_cast<const double*>(x.data())[bad];
  MLFORGE_CHECK(std::isfinite(v), InvalidArgument, "[", op, "] x[", bad, "] = ", v, " is not finite");
  throw InvalidArgument(detail::concat("[", op, "] x[", bad, "] = ", v, " lies outside [-clip, clip] with clip=", clip,
                                       "; clip the update first or pass policy=clip"));
}

void dequantize(const ArrayView& sum, double clip, std::int64_t levels, const ArrayView& out) {
  constexpr const char* op = "secure_agg.dequantize";
  require_vector(op, "sum", sum, false);
  sum.require_dtype(op, "sum", DType::kUInt32);
  require_vector(op, "out", out, true);
  MLFORGE_CHECK(out.dtype() == DType::kFloat32 || out.dtype() == DType::kFloat64, InvalidArgument, "[", op,
                "] out: expected dtype float32 or float64, got ", out.describe());
  require_same_length(op, "out", out, "sum", sum);
  require_codec(op, clip, levels);
  const double step = clip / static_cast<double>(levels);
  const auto* s = static_cast<const std::uint32_t*>(sum.data());
  parallel_for(0, sum.numel(), kGrain, [&](std::int64_t lo, std::int64_t hi) {
    if (out.dtype() == DType::kFloat32) {
      decode_f32(s + lo, static_cast<float*>(out.data()) + lo, hi - lo, step);
    } else {
      decode_f64(s + lo, static_cast<double*>(out.data()) + lo, hi - lo, step);
    }
  });
}

void add_mod(const ArrayView& acc, const ArrayView& values, int sign) {
  constexpr const char* op = "secure_agg.add_mod";
  require_vector(op, "acc", acc, true);
  acc.require_dtype(op, "acc", DType::kUInt32);
  require_vector(op, "values", values, false);
  values.require_dtype(op, "values", DType::kUInt32);
  require_same_length(op, "values", values, "acc", acc);
  MLFORGE_CHECK(sign == 1 || sign == -1, InvalidArgument, "[", op, "] sign must be +1 or -1, got ", sign);
  auto* a = static_cast<std::uint32_t*>(acc.data());
  const auto* v = static_cast<const std::uint32_t*>(values.data());
  parallel_for(0, acc.numel(), kGrain,
               [&](std::int64_t lo, std::int64_t hi) { add_words(a + lo, v + lo, hi - lo, sign < 0); });
}

}  // namespace mlforge
