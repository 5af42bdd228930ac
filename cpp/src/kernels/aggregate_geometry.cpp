// Geometry of client updates: centred pairwise distances, norms and clipping.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cuda_entry.h"
#include "core/simd.h"
#include "kernels/checks.h"
#include "mlforge/kernels.h"
#include "mlforge/parallel.h"

namespace mlforge {
namespace {

// The D axis is cut into slabs whose number depends only on K (never on the thread count); each
// slab yields a partial Gram matrix, added in slab order: deterministic. Partials are capped at
// about 32 MB in all, so large K means fewer, wider slabs.
std::int64_t slab_count(std::int64_t k) { return std::clamp<std::int64_t>((std::int64_t{1} << 22) / (k * k), 1, 64); }
constexpr std::int64_t kTileColumns = 256;

MLFORGE_TARGET_CLONES double dot(const double* a, const double* b, std::int64_t n) {
  double lanes[8] = {};
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; ++l) lanes[l] += a[i + l] * b[i + l];
  }
  double total = 0.0;
  for (double lane : lanes) total += lane;
  for (; i < n; ++i) total += a[i] * b[i];
  return total;
}

MLFORGE_TARGET_CLONES double sum_of_squares(const float* x, std::int64_t n) {
  double lanes[16] = {};
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int l = 0; l < 16; ++l) lanes[l] += static_cast<double>(x[i + l]) * static_cast<double>(x[i + l]);
  }
  double total = 0.0;
  for (double lane : lanes) total += lane;
  for (; i < n; ++i) total += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return total;
}

constexpr std::int64_t kNormChunk = 1 << 15;

// Norms of all rows: one task per (row, chunk of kNormChunk), partial sums combined per row in
// chunk order, so many short rows and few long rows both use every thread, deterministically.
void norms_of(const std::vector<ArrayView>& rows, double* out) {
  const auto k = static_cast<std::int64_t>(rows.size());
  const std::int64_t length = rows[0].shape(0);
  const std::int64_t chunks = std::max<std::int64_t>(1, (length + kNormChunk - 1) / kNormChunk);
  std::vector<double> partial(static_cast<std::size_t>(k * chunks), 0.0);
  parallel_for(0, k * chunks, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t task = lo; task < hi; ++task) {
      const std::int64_t r = task / chunks, c = task % chunks;
      const std::int64_t start = c * kNormChunk;
      const std::int64_t width = std::min(kNormChunk, length - start);
      const auto* x = static_cast<const float*>(rows[static_cast<std::size_t>(r)].data());
      partial[static_cast<std::size_t>(task)] = width > 0 ? sum_of_squares(x + start, width) : 0.0;
    }
  });
  for (std::int64_t r = 0; r < k; ++r) {
    double squares = 0.0;
    for (std::int64_t c = 0; c < chunks; ++c) squares += partial[static_cast<std::size_t>(r * chunks + c)];
    out[r] = std::sqrt(squares);
  }
}

}  // namespace

void pairwise_sq_distances(const std::vector<ArrayView>& rows, const ArrayView& out, Stream stream) {
  constexpr const char* op = "kernels.pairwise_sq_distances";
  const DeviceType where = rows.empty() ? DeviceType::kCPU : rows[0].device().type;
  const std::int64_t length = detail::require_rows(op, rows, false, where);
  const auto k = static_cast<std::int64_t>(rows.size());
  detail::require_array(op, "out", out, {DType::kFloat64}, {k, k}, true, where);
  if (where == DeviceType::kCUDA) return detail::cuda::pairwise_sq_distances(rows, out, stream);
  const auto ku = static_cast<std::size_t>(k);
  const std::int64_t slabs = slab_count(k);
  std::vector<double> partial_grams(static_cast<std::size_t>(slabs) * ku * ku, 0.0);
  const std::int64_t slab_width = std::max<std::int64_t>(1, (length + slabs - 1) / slabs);
  parallel_for(0, slabs, 1, [&](std::int64_t first, std::int64_t last) {
    std::vector<double> tile(ku * static_cast<std::size_t>(kTileColumns));
    for (std::int64_t slab = first; slab < last; ++slab) {
      double* gram = partial_grams.data() + static_cast<std::size_t>(slab) * ku * ku;
      const std::int64_t lo = std::min(length, slab * slab_width);
      const std::int64_t hi = std::min(length, lo + slab_width);
      for (std::int64_t start = lo; start < hi; start += kTileColumns) {
        const std::int64_t width = std::min(kTileColumns, hi - start);
        // Centre this tile of columns by their mean over the K rows.
        for (std::int64_t c = 0; c < width; ++c) {
          double mean = 0.0;
          for (std::int64_t r = 0; r < k; ++r) mean += static_cast<const float*>(rows[static_cast<std::size_t>(r)].data())[start + c];
          mean /= static_cast<double>(k);
          for (std::int64_t r = 0; r < k; ++r) {
            tile[static_cast<std::size_t>(r * kTileColumns + c)] =
                static_cast<const float*>(rows[static_cast<std::size_t>(r)].data())[start + c] - mean;
          }
        }
        for (std::int64_t i = 0; i < k; ++i) {
          for (std::int64_t j = i; j < k; ++j) {
            gram[i * k + j] += dot(tile.data() + i * kTileColumns, tile.data() + j * kTileColumns, width);
          }
        }
      }
    }
  });
  std::vector<double> gram(ku * ku, 0.0);
  for (std::int64_t slab = 0; slab < slabs; ++slab) {
    const double* partial = partial_grams.data() + static_cast<std::size_t>(slab) * ku * ku;
    for (std::size_t i = 0; i < ku * ku; ++i) gram[i] += partial[i];
  }
  auto* distances = static_cast<double*>(out.data());
  for (std::int64_t i = 0; i < k; ++i) {
    for (std::int64_t j = 0; j < k; ++j) {
      const std::int64_t a = std::min(i, j), b = std::max(i, j);
      const double d = gram[a * k + a] + gram[b * k + b] - 2.0 * gram[a * k + b];
      distances[i * k + j] = i == j ? 0.0 : std::max(0.0, d);
    }
  }
}

void row_norms(const std::vector<ArrayView>& rows, const ArrayView& out, Stream stream) {
  constexpr const char* op = "kernels.row_norms";
  const DeviceType where = rows.empty() ? DeviceType::kCPU : rows[0].device().type;
  detail::require_rows(op, rows, false, where);
  const auto k = static_cast<std::int64_t>(rows.size());
  detail::require_array(op, "out", out, {DType::kFloat64}, {k}, true, where);
  if (where == DeviceType::kCUDA) return detail::cuda::row_norms(rows, out, stream);
  norms_of(rows, static_cast<double*>(out.data()));
}

void clip_rows(const std::vector<ArrayView>& rows, double max_norm, const ArrayView& norms, Stream stream) {
  constexpr const char* op = "kernels.clip_rows";
  const DeviceType where = rows.empty() ? DeviceType::kCPU : rows[0].device().type;
  detail::require_rows(op, rows, /*writable=*/true, where);
  MLFORGE_CHECK(std::isfinite(max_norm) && max_norm > 0.0, InvalidArgument, "[", op,
                "] max_norm must be finite and > 0, got ", max_norm);
  if (where == DeviceType::kCUDA) {
    detail::require_array(op, "norms", norms, {DType::kFloat64}, {static_cast<std::int64_t>(rows.size())}, true, where);
    return detail::cuda::clip_rows(rows, max_norm, norms, stream);
  }
  row_norms(rows, norms);
  const auto* before = static_cast<const double*>(norms.data());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (!(before[r] > max_norm)) continue;  // also leaves NaN rows alone: the norm reports them
    const auto scale = static_cast<float>(max_norm / before[r]);
    auto* x = static_cast<float*>(rows[r].data());
    parallel_for(0, rows[r].shape(0), 1 << 15, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) x[i] *= scale;
    });
  }
}

}  // namespace mlforge
