// Geometry of client updates: centred pairwise distances, norms and clipping.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <utility>
#include <vector>

#include "backend/cuda_entry.h"
#include "core/simd.h"
#include "kernels/checks.h"
#include "kernels/lane_sort.h"
#include "kernels/sum_of_squares.h"
#include "mlforge/kernels.h"
#include "mlforge/parallel.h"

namespace mlforge {
namespace {

// The D axis is cut into slabs whose number depends only on K (never on the thread count); each
// slab yields a partial Gram matrix, added in slab order: deterministic. Partials are capped at
// about 32 MB in all, so large K means fewer, wider slabs.
std::int64_t slab_count(std::int64_t k) { return std::clamp<std::int64_t>((std::int64_t{1} << 22) / (k * k), 1, 64); }
constexpr std::int64_t kTileColumns = 256;
constexpr std::int64_t kBlock = 4;  // the micro-kernel's 4 x 4 block of Gram entries

// 16 float32 lanes; one AVX-512 register (GCC splits it for narrower clones).
typedef float Lanes __attribute__((vector_size(64)));
typedef int LaneIndex __attribute__((vector_size(64)));
static_assert(sizeof(Lanes) == 16 * sizeof(float));
constexpr std::int64_t kLanes = 16;

MLFORGE_ALWAYS_INLINE void load(Lanes& v, const float* p) { std::memcpy(&v, p, sizeof v); }

MLFORGE_ALWAYS_INLINE void pair_sum(Lanes& out, const Lanes& a, const Lanes& b, const LaneIndex& first,
                                    const LaneIndex& second) {
  out = __builtin_shuffle(a, b, first) + __builtin_shuffle(a, b, second);
}

// sums[i] = sum of the 16 lanes of v[i], for 16 vectors at once: four levels of pairwise
// shuffle-and-add (15 adds in all instead of 16 x 15 scalar ones).
MLFORGE_ALWAYS_INLINE void lane_sums(const Lanes (&v)[16], float* sums) {
  const LaneIndex half_a = {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23};
  const LaneIndex half_b = {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31};
  const LaneIndex quarter_a = {0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27};
  const LaneIndex quarter_b = {4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31};
  const LaneIndex eighth_a = {0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29};
  const LaneIndex eighth_b = {2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31};
  const LaneIndex even = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
  const LaneIndex odd = {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31};
  Lanes w[8], x[4], y[2], z;
  for (int i = 0; i < 8; ++i) pair_sum(w[i], v[2 * i], v[2 * i + 1], half_a, half_b);    // 8 lanes per source
  for (int i = 0; i < 4; ++i) pair_sum(x[i], w[2 * i], w[2 * i + 1], quarter_a, quarter_b);  // 4 lanes
  for (int i = 0; i < 2; ++i) pair_sum(y[i], x[2 * i], x[2 * i + 1], eighth_a, eighth_b);    // 2 lanes
  pair_sum(z, y[0], y[1], even, odd);                                                       // lane s: v[s]
  std::memcpy(sums, &z, sizeof z);
}

// gram += factor * <tile_i, tile_j> for the upper triangle of 4 x 4 blocks (rows4 a multiple of 4) of a
// centred tile [rows4][kTileColumns], in BlockedGram's layout. Each dot is 16 lanes of 16 sequential float32 products
// plus a 4-level lane tree, i.e. at most 20 roundings: |error| <= 20u/(1-20u) * sum_c |x_ic x_jc|
// (u = 2^-24) per tile; the tiles are then added in float64.
MLFORGE_TARGET_CLONES void gram_tile(const float* tile, std::int64_t rows4, double* gram, double factor) {
  for (std::int64_t bi = 0; bi < rows4; bi += kBlock) {
    const float* a = tile + bi * kTileColumns;
    for (std::int64_t bj = bi; bj < rows4; bj += kBlock, gram += kBlock * kBlock) {
      const float* b = tile + bj * kTileColumns;
      Lanes acc[16] = {};
      for (std::int64_t c = 0; c < kTileColumns; c += kLanes) {
        Lanes av[kBlock], bv[kBlock];
        for (int r = 0; r < kBlock; ++r) {
          load(av[r], a + r * kTileColumns + c);
          load(bv[r], b + r * kTileColumns + c);
        }
        for (int r = 0; r < kBlock; ++r) {
          for (int q = 0; q < kBlock; ++q) acc[r * kBlock + q] += av[r] * bv[q];
        }
      }
      float sums[kBlock * kBlock];
      lane_sums(acc, sums);
      for (int e = 0; e < kBlock * kBlock; ++e) gram[e] += static_cast<double>(sums[e]) * factor;
    }
  }
}

// gram_tile's layout: the 4 x 4 blocks (bi <= bj) one after another, row-major inside a block.
struct BlockedGram {
  std::int64_t blocks;  // rows4 / kBlock
  std::int64_t size() const { return blocks * (blocks + 1) / 2 * kBlock * kBlock; }
  std::size_t at(std::int64_t i, std::int64_t j) const {  // i <= j
    const std::int64_t bi = i / kBlock, bj = j / kBlock;
    const std::int64_t pair = bi * blocks - bi * (bi - 1) / 2 + (bj - bi);
    return static_cast<std::size_t>(pair * kBlock * kBlock + (i % kBlock) * kBlock + j % kBlock);
  }
};

MLFORGE_TARGET_CLONES void add_row(double* __restrict acc, const float* __restrict x, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) acc[i] += static_cast<double>(x[i]);
}

// max |x| over n values (NaN is ignored). Explicit lanes: the compiler may not reorder a scalar
// max reduction (NaN makes it non-associative) and would leave it scalar.
MLFORGE_TARGET_CLONES float max_abs(const float* __restrict x, std::int64_t n) {
  Lanes largest = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    Lanes v;
    load(v, x + i);
    v = v < 0.0f ? -v : v;
    largest = v > largest ? v : largest;
  }
  float result = 0.0f;
  for (int l = 0; l < kLanes; ++l) result = largest[l] > result ? largest[l] : result;
  for (; i < n; ++i) {
    const float v = std::fabs(x[i]);
    result = v > result ? v : result;
  }
  return result;
}

// out = x * scale - c * scale: scale is a power of two, so both products are exact and the
// difference is the float32 difference x - c scaled (exact when x is within a factor 2 of c).
MLFORGE_TARGET_CLONES void scaled_difference(float* __restrict out, const float* __restrict x,
                                             const float* __restrict c, std::int64_t n, float scale) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = x[i] * scale - c[i] * scale;
}

// Exact check of one distance, from the rows in float64: sum (x_i - x_j)^2.
MLFORGE_TARGET_CLONES double direct_sq_distance(const float* x, const float* y, std::int64_t n) {
  double lanes[8] = {};
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; ++l) {
      const double diff = static_cast<double>(x[i + l]) - static_cast<double>(y[i + l]);
      lanes[l] += diff * diff;
    }
  }
  double total = 0.0;
  for (double lane : lanes) total += lane;
  for (; i < n; ++i) {
    const double diff = static_cast<double>(x[i]) - static_cast<double>(y[i]);
    total += diff * diff;
  }
  return total;
}

// A distance below this fraction of G_ii + G_jj is recomputed directly (see pairwise_sq_distances).
// Not larger: with Byzantine rows far away, honest rows sit close together next to their distance
// from the mean (d_ij / (G_ii + G_jj) ~ 0.1 in the benchmark), and rechecking them all would cost
// more than the Gram itself.
constexpr double kRecheckFraction = 1.0 / 64.0;

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
      partial[static_cast<std::size_t>(task)] = width > 0 ? detail::sum_of_squares(x + start, width) : 0.0;
    }
  });
  for (std::int64_t r = 0; r < k; ++r) {
    double squares = 0.0;
    for (std::int64_t c = 0; c < chunks; ++c) squares += partial[static_cast<std::size_t>(r * chunks + c)];
    out[r] = std::sqrt(squares);
  }
}

}  // namespace

namespace detail {

void require_finite_rows(const char* op, const std::vector<ArrayView>& rows) {
  std::vector<double> norms(rows.size());
  // Finite float32 values cannot overflow a float64 sum of squares, so a non-finite norm means a
  // NaN or an infinity in the row.
  row_norms(rows, ArrayView(norms.data(), DType::kFloat64, {static_cast<std::int64_t>(rows.size())}));
  for (std::size_t r = 0; r < rows.size(); ++r) {
    MLFORGE_CHECK(std::isfinite(norms[r]), InvalidArgument, "[", op, "] updates[", r,
                  "] contains NaN or infinite values");
  }
}

}  // namespace detail

void pairwise_sq_distances(const std::vector<ArrayView>& rows, const ArrayView& out, Stream stream) {
  constexpr const char* op = "kernels.pairwise_sq_distances";
  const DeviceType where = rows.empty() ? DeviceType::kCPU : rows[0].device().type;
  const std::int64_t length = detail::require_rows(op, rows, false, where);
  const auto k = static_cast<std::int64_t>(rows.size());
  detail::require_array(op, "out", out, {DType::kFloat64}, {k, k}, true, where);
  if (where == DeviceType::kCUDA) return detail::cuda::pairwise_sq_distances(rows, out, stream);
  const std::int64_t rows4 = (k + kBlock - 1) / kBlock * kBlock;  // zero rows pad K to the block
  const BlockedGram layout{rows4 / kBlock};
  const auto gu = static_cast<std::size_t>(layout.size());
  const std::int64_t slabs = slab_count(k);
  std::vector<double> partial_grams(static_cast<std::size_t>(slabs) * gu, 0.0);
  const std::int64_t slab_width = std::max<std::int64_t>(1, (length + slabs - 1) / slabs);
  const auto row = [&](std::int64_t r) { return static_cast<const float*>(rows[static_cast<std::size_t>(r)].data()); };
  // tile[r] = rows[r][start, start + width) * 2^-e - centre * 2^-e, zero-padded to kTileColumns,
  // with e chosen so the tile's largest input magnitude lies in [1, 2): the centred values are then
  // below 4 in magnitude, and float32 products and their sums can neither overflow (updates near
  // FLT_MAX) nor underflow (tiny updates). Returns 2^(2e), which brings the tile's Gram back to the
  // rows' units.
  const auto centre_tile = [&](float* tile, std::int64_t start, std::int64_t width, const float* centre) {
    float largest = max_abs(centre, width);
    for (std::int64_t r = 0; r < k; ++r) largest = std::max(largest, max_abs(row(r) + start, width));
    // Clamped to float32's normal exponents: a tile of subnormals (largest < 2^-126) would otherwise
    // ask for a scale of 2^128 or more, which is +inf in float32 and turns every product into NaN.
    const int exponent = largest > 0.0f && std::isfinite(largest) ? std::max(std::ilogb(largest), -126) : 0;
    for (std::int64_t r = 0; r < k; ++r) {
      float* centred = tile + r * kTileColumns;
      scaled_difference(centred, row(r) + start, centre, width, std::ldexp(1.0f, -exponent));
      if (width < kTileColumns) std::fill(centred + width, centred + kTileColumns, 0.0f);
    }
    return std::ldexp(1.0, 2 * exponent);
  };
  auto tile0 = detail::aligned_floats(rows4 * kTileColumns);
  if (!tile0) throw std::bad_alloc();
  std::fill(tile0.get(), tile0.get() + rows4 * kTileColumns, 0.0f);
  // The Gram's rounding error grows with |x_i - centre|^2, the distances do not: centring by the
  // mean is poor when far-away (Byzantine) rows drag the mean off the honest cluster, making every
  // honest pair "near" next to its norms. So the centre is a central row: the one with the smallest
  // sum of distances to its (K - 1) / 2 nearest others, estimated on a few mean-centred sample tiles.
  // Rows then differ from it by about their distances to each other, and x_i - x_c is exact
  // (Sterbenz) for rows within a factor 2 of it, whatever their common offset.
  std::int64_t central = 0;
  if (k > 2 && length > 0) {
    const std::int64_t tiles = (length + kTileColumns - 1) / kTileColumns;
    const std::int64_t samples = std::min<std::int64_t>(8, tiles);
    std::vector<double> sample_gram(gu, 0.0), sums(static_cast<std::size_t>(kTileColumns));
    std::vector<float> mean(static_cast<std::size_t>(kTileColumns));
    for (std::int64_t b = 0; b < samples; ++b) {
      const std::int64_t start = b * tiles / samples * kTileColumns;
      const std::int64_t width = std::min(kTileColumns, length - start);
      std::fill(sums.begin(), sums.end(), 0.0);
      for (std::int64_t r = 0; r < k; ++r) add_row(sums.data(), row(r) + start, width);
      for (std::int64_t c = 0; c < width; ++c) {
        mean[static_cast<std::size_t>(c)] = static_cast<float>(sums[static_cast<std::size_t>(c)] / static_cast<double>(k));
      }
      const double factor = centre_tile(tile0.get(), start, width, mean.data());
      gram_tile(tile0.get(), rows4, sample_gram.data(), factor);
    }
    double best = std::numeric_limits<double>::infinity();
    std::vector<double> others;
    for (std::int64_t i = 0; i < k; ++i) {
      others.clear();
      for (std::int64_t j = 0; j < k; ++j) {
        if (j == i) continue;
        const std::int64_t a = std::min(i, j), b = std::max(i, j);
        others.push_back(sample_gram[layout.at(a, a)] + sample_gram[layout.at(b, b)] -
                         2.0 * sample_gram[layout.at(a, b)]);
      }
      const auto nearest = static_cast<std::ptrdiff_t>((k - 1) / 2);
      std::partial_sort(others.begin(), others.begin() + nearest, others.end());
      double score = 0.0;
      for (std::ptrdiff_t n = 0; n < nearest; ++n) score += others[static_cast<std::size_t>(n)];
      if (score < best) best = score, central = i;  // NaN never wins
    }
  }
  parallel_for(0, slabs, 1, [&](std::int64_t first, std::int64_t last) {
    auto tile = detail::aligned_floats(rows4 * kTileColumns);
    if (!tile) throw std::bad_alloc();
    std::fill(tile.get(), tile.get() + rows4 * kTileColumns, 0.0f);
    for (std::int64_t slab = first; slab < last; ++slab) {
      double* gram = partial_grams.data() + static_cast<std::size_t>(slab) * gu;
      const std::int64_t lo = std::min(length, slab * slab_width);
      const std::int64_t hi = std::min(length, lo + slab_width);
      for (std::int64_t start = lo; start < hi; start += kTileColumns) {
        const std::int64_t width = std::min(kTileColumns, hi - start);
        const double factor = centre_tile(tile.get(), start, width, row(central) + start);
        // The next tile's K row segments are K separate streams, too many for the hardware
        // prefetchers: fetch them into L2 while this tile's Gram (compute-bound) runs.
        const std::int64_t next = start + kTileColumns, next_width = std::min(kTileColumns, hi - next);
        for (std::int64_t r = 0; r < k && next_width > 0; ++r) {
          for (std::int64_t c = 0; c < next_width; c += 16) __builtin_prefetch(row(r) + next + c, 0, 2);
        }
        gram_tile(tile.get(), rows4, gram, factor);
      }
    }
  });
  std::vector<double> gram(gu, 0.0);
  for (std::int64_t slab = 0; slab < slabs; ++slab) {
    const double* partial = partial_grams.data() + static_cast<std::size_t>(slab) * gu;
    for (std::size_t i = 0; i < gu; ++i) gram[i] += partial[i];
  }
  auto* distances = static_cast<double*>(out.data());
  // The float32 tile dots bound the error of d_ij by 2 * 20u * (G_ii + G_jj) in the worst case
  // (every rounding the same way; plus the rounding of the centred values, relatively
  // u * sqrt(2 (G_ii + G_jj) / d_ij)). Pairs much closer to each other than to the centre
  // (duplicates, colluding clients) are recomputed directly in float64, so the worst-case relative
  // error is 40u / kRecheckFraction ~ 1.5e-4; in practice the roundings of the D / 256 tiles
  // average out and errors are ~1e-8 relative (tests check 1e-7 against float64 cdist).
  std::vector<std::pair<std::int64_t, std::int64_t>> recheck;
  // A NaN or infinity in row i (or in the central row) makes G_ii non-finite: centred, scaled
  // finite values are below 4 in magnitude, so their float32 products and sums stay finite. d_ij is
  // then inf or NaN; both become NaN, so callers can tell bad rows from far ones.
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  for (std::int64_t i = 0; i < k; ++i) {
    distances[i * k + i] = std::isfinite(gram[layout.at(i, i)]) ? 0.0 : kNaN;
    for (std::int64_t j = i + 1; j < k; ++j) {
      const double self = gram[layout.at(i, i)] + gram[layout.at(j, j)];
      const double d = self - 2.0 * gram[layout.at(i, j)];
      distances[i * k + j] = distances[j * k + i] = std::isfinite(d) ? std::max(0.0, d) : kNaN;
      if (d < kRecheckFraction * self) recheck.emplace_back(i, j);
    }
  }
  parallel_for(0, static_cast<std::int64_t>(recheck.size()), 1, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t p = first; p < last; ++p) {
      const auto [i, j] = recheck[static_cast<std::size_t>(p)];
      const double d = direct_sq_distance(static_cast<const float*>(rows[static_cast<std::size_t>(i)].data()),
                                          static_cast<const float*>(rows[static_cast<std::size_t>(j)].data()), length);
      distances[i * k + j] = distances[j * k + i] = d;
    }
  });
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
