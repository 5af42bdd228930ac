// Coordinate-wise reductions over K client updates: weighted sum, median, trimmed mean.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "backend/cuda_entry.h"
#include "core/simd.h"
#include "kernels/checks.h"
#include "kernels/coordinates.h"
#include "kernels/lane_sort.h"
#include "mlforge/kernels.h"
#include "mlforge/parallel.h"

namespace mlforge {
namespace {

constexpr std::int64_t kCoordinateGrain = 1 << 13;

MLFORGE_TARGET_CLONES void axpy_into(double* acc, const float* row, double weight, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) acc[i] += weight * static_cast<double>(row[i]);
}

// kBlockRows rows per pass over the accumulator: 1/kBlockRows of the accumulator traffic. The
// additions happen in the same order as kBlockRows axpy_into calls, so the result does not change.
constexpr int kBlockRows = 8;

MLFORGE_TARGET_CLONES void axpy_block_into(double* __restrict acc, const float* const* rows, const double* w,
                                           std::int64_t n) {
  const float* __restrict r0 = rows[0];
  const float* __restrict r1 = rows[1];
  const float* __restrict r2 = rows[2];
  const float* __restrict r3 = rows[3];
  const float* __restrict r4 = rows[4];
  const float* __restrict r5 = rows[5];
  const float* __restrict r6 = rows[6];
  const float* __restrict r7 = rows[7];
  for (std::int64_t i = 0; i < n; ++i) {
    double a = acc[i];
    a += w[0] * static_cast<double>(r0[i]);
    a += w[1] * static_cast<double>(r1[i]);
    a += w[2] * static_cast<double>(r2[i]);
    a += w[3] * static_cast<double>(r3[i]);
    a += w[4] * static_cast<double>(r4[i]);
    a += w[5] * static_cast<double>(r5[i]);
    a += w[6] * static_cast<double>(r6[i]);
    a += w[7] * static_cast<double>(r7[i]);
    acc[i] = a;
  }
}

void require_propagate_on_cuda(const char* op, NonFinite non_finite) {
  MLFORGE_CHECK(non_finite == NonFinite::kPropagate, InvalidArgument, "[", op,
                "] non_finite: rejecting NaN/inf is supported for CPU rows only; check them with row_norms");
}

bool has_nan(const float* values, std::int64_t k) {
  for (std::int64_t i = 0; i < k; ++i) {
    if (std::isnan(values[i])) return true;
  }
  return false;
}

}  // namespace

void weighted_sum(const std::vector<ArrayView>& rows, const ArrayView& weights, const ArrayView& out, Stream stream) {
  constexpr const char* op = "kernels.weighted_sum";
  const DeviceType where = rows.empty() ? DeviceType::kCPU : rows[0].device().type;
  const std::int64_t length = detail::require_rows(op, rows, false, where);
  const auto k = static_cast<std::int64_t>(rows.size());
  detail::require_array(op, "weights", weights, {DType::kFloat64}, {k}, false, where);
  detail::require_array(op, "out", out, {DType::kFloat32}, {length}, true, where);
  if (where == DeviceType::kCUDA) return detail::cuda::weighted_sum(rows, weights, out, stream);
  const auto* w = static_cast<const double*>(weights.data());
  for (std::int64_t i = 0; i < k; ++i) {
    MLFORGE_CHECK(std::isfinite(w[i]), InvalidArgument, "[", op, "] weights[", i, "] must be finite, got ", w[i]);
  }
  auto* result = static_cast<float*>(out.data());
  parallel_for(0, length, kCoordinateGrain, [&](std::int64_t lo, std::int64_t hi) {
    std::vector<double> acc(static_cast<std::size_t>(hi - lo), 0.0);
    std::int64_t r = 0;  // fixed row order: the same sum for any thread count
    for (; r + kBlockRows <= k; r += kBlockRows) {
      const float* block[kBlockRows];
      for (int j = 0; j < kBlockRows; ++j) {
        block[j] = static_cast<const float*>(rows[static_cast<std::size_t>(r + j)].data()) + lo;
      }
      axpy_block_into(acc.data(), block, w + r, hi - lo);
    }
    for (; r < k; ++r) {
      axpy_into(acc.data(), static_cast<const float*>(rows[static_cast<std::size_t>(r)].data()) + lo, w[r], hi - lo);
    }
    for (std::int64_t d = lo; d < hi; ++d) result[d] = static_cast<float>(acc[static_cast<std::size_t>(d - lo)]);
  });
}

void coordinate_median(const std::vector<ArrayView>& rows, const ArrayView& out, Stream stream,
                       NonFinite non_finite) {
  constexpr const char* op = "kernels.coordinate_median";
  const DeviceType where = rows.empty() ? DeviceType::kCPU : rows[0].device().type;
  const std::int64_t length = detail::require_rows(op, rows, false, where);
  detail::require_array(op, "out", out, {DType::kFloat32}, {length}, true, where);
  if (where == DeviceType::kCUDA) {
    require_propagate_on_cuda(op, non_finite);
    return detail::cuda::coordinate_median(rows, out, stream);
  }
  auto* result = static_cast<float*>(out.data());
  const auto k = static_cast<std::int64_t>(rows.size());
  if (k <= detail::kMaxNetworkRows) {
    // Middle one or two of the sorted lanes; the network sorts kSortLanes coordinates at once.
    const std::int64_t upper = k / 2, lower = k % 2 == 1 ? upper : upper - 1;
    const bool saw_non_finite = detail::for_each_sorted_group(rows, length, [&](const float* sorted, const bool* nan, std::int64_t first,
                                                     std::int64_t width) {
      const float* hi = sorted + upper * detail::kSortLanes;
      const float* lo = sorted + lower * detail::kSortLanes;
      for (std::int64_t l = 0; l < width; ++l) {
        const double median = 0.5 * (static_cast<double>(lo[l]) + static_cast<double>(hi[l]));
        result[first + l] = nan[l] ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(median);
      }
    });
    if (saw_non_finite && non_finite == NonFinite::kReject) detail::require_finite_rows(op, rows);
    return;
  }
  if (non_finite == NonFinite::kReject) detail::require_finite_rows(op, rows);
  detail::per_coordinate(rows, length, result, [](float* values, std::int64_t count) -> double {
    if (has_nan(values, count)) return std::nan("");
    const std::int64_t middle = count / 2;
    std::nth_element(values, values + middle, values + count);
    const double upper = values[middle];
    if (count % 2 == 1) return upper;
    const double lower = *std::max_element(values, values + middle);
    return 0.5 * (lower + upper);
  });
}

void coordinate_trimmed_mean(const std::vector<ArrayView>& rows, double beta, const ArrayView& out, Stream stream,
                             NonFinite non_finite) {
  constexpr const char* op = "kernels.coordinate_trimmed_mean";
  const DeviceType where = rows.empty() ? DeviceType::kCPU : rows[0].device().type;
  const std::int64_t length = detail::require_rows(op, rows, false, where);
  detail::require_array(op, "out", out, {DType::kFloat32}, {length}, true, where);
  MLFORGE_CHECK(std::isfinite(beta) && beta >= 0.0 && beta < 0.5, InvalidArgument, "[", op,
                "] beta must be in [0, 0.5), got ", beta);
  if (where == DeviceType::kCUDA) {
    require_propagate_on_cuda(op, non_finite);
    return detail::cuda::coordinate_trimmed_mean(rows, beta, out, stream);
  }
  const auto k = static_cast<std::int64_t>(rows.size());
  const auto cut = static_cast<std::int64_t>(std::floor(beta * static_cast<double>(k)));
  auto* result = static_cast<float*>(out.data());
  if (k <= detail::kMaxNetworkRows) {
    // Sum of the sorted ranks [cut, K - cut), in float64, per lane.
    const double kept = static_cast<double>(k - 2 * cut);
    const bool saw_non_finite = detail::for_each_sorted_group(rows, length, [&](const float* sorted, const bool* nan, std::int64_t first,
                                                     std::int64_t width) {
      double total[detail::kSortLanes] = {};
      for (std::int64_t r = cut; r < k - cut; ++r) {
        const float* row = sorted + r * detail::kSortLanes;
        for (int l = 0; l < detail::kSortLanes; ++l) total[l] += static_cast<double>(row[l]);
      }
      for (std::int64_t l = 0; l < width; ++l) {
        result[first + l] = nan[l] ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(total[l] / kept);
      }
    });
    if (saw_non_finite && non_finite == NonFinite::kReject) detail::require_finite_rows(op, rows);
    return;
  }
  if (non_finite == NonFinite::kReject) detail::require_finite_rows(op, rows);
  detail::per_coordinate(rows, length, result, [cut](float* values, std::int64_t count) -> double {
    if (has_nan(values, count)) return std::nan("");
    // Two partitions (O(K)) instead of a sort: the cut smallest to the front, the cut largest to the back.
    if (cut > 0) {
      std::nth_element(values, values + cut, values + count);
      std::nth_element(values + cut, values + (count - cut), values + count);
    }
    double total = 0.0;
    for (std::int64_t i = cut; i < count - cut; ++i) total += values[i];
    return total / static_cast<double>(count - 2 * cut);
  });
}

}  // namespace mlforge
