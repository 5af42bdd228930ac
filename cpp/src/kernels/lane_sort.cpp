// Bitonic sorting network over the lanes of a tile (see lane_sort.h).
#include "kernels/lane_sort.h"

#include <cstring>

#include "core/simd.h"

namespace mlforge::detail {
namespace {

// One row of a tile: kSortLanes floats. GCC lowers the 64-byte vector to one AVX-512, two AVX2
// or four SSE registers, per clone of the functions below.
typedef float Row __attribute__((vector_size(kSortLanes * sizeof(float))));
static_assert(sizeof(Row) == 64);

MLFORGE_ALWAYS_INLINE void compare_exchange(Row& a, Row& b) {
  const Row low = a < b ? a : b;  // (a < b ? a : b) is exactly minps/maxps: no -ffast-math needed
  const Row high = a < b ? b : a;
  a = low;
  b = high;
}

MLFORGE_ALWAYS_INLINE void load(Row& v, const float* p) { std::memcpy(&v, p, sizeof v); }

MLFORGE_ALWAYS_INLINE void store(float* p, const Row& v) { std::memcpy(p, &v, sizeof v); }

// Three consecutive bitonic stages (distances 4s, 2s, s) on the 8 rows base + m * s, in registers:
// one load and one store per row instead of three. A descending block is the ascending network on
// the rows in reverse order (the comparator pairs map onto themselves).
MLFORGE_ALWAYS_INLINE void stages3(float* tile, std::int64_t base, std::int64_t s, bool ascending) {
  float* p[8];
  for (int m = 0; m < 8; ++m) p[m] = tile + (base + (ascending ? m : 7 - m) * s) * kSortLanes;
  Row v[8];
  for (int m = 0; m < 8; ++m) load(v[m], p[m]);
  for (int m = 0; m < 4; ++m) compare_exchange(v[m], v[m + 4]);
  compare_exchange(v[0], v[2]);
  compare_exchange(v[1], v[3]);
  compare_exchange(v[4], v[6]);
  compare_exchange(v[5], v[7]);
  for (int m = 0; m < 8; m += 2) compare_exchange(v[m], v[m + 1]);
  for (int m = 0; m < 8; ++m) store(p[m], v[m]);
}

// Two stages (distances 2, 1) on 4 adjacent rows.
MLFORGE_ALWAYS_INLINE void stages2(float* tile, std::int64_t base, bool ascending) {
  float* p[4];
  for (int m = 0; m < 4; ++m) p[m] = tile + (base + (ascending ? m : 3 - m)) * kSortLanes;
  Row v[4];
  for (int m = 0; m < 4; ++m) load(v[m], p[m]);
  compare_exchange(v[0], v[2]);
  compare_exchange(v[1], v[3]);
  compare_exchange(v[0], v[1]);
  compare_exchange(v[2], v[3]);
  for (int m = 0; m < 4; ++m) store(p[m], v[m]);
}

// One stage (distance 1) on 2 adjacent rows.
MLFORGE_ALWAYS_INLINE void stage1(float* tile, std::int64_t base, bool ascending) {
  float* lo = tile + (base + (ascending ? 0 : 1)) * kSortLanes;
  float* hi = tile + (base + (ascending ? 1 : 0)) * kSortLanes;
  Row a, b;
  load(a, lo);
  load(b, hi);
  compare_exchange(a, b);
  store(lo, a);
  store(hi, b);
}

typedef std::int32_t RowMask __attribute__((vector_size(kSortLanes * sizeof(std::int32_t))));

}  // namespace

MLFORGE_TARGET_CLONES bool gather_groups(const std::vector<ArrayView>& rows, std::int64_t start, std::int64_t count,
                                         std::int64_t prefetch_end, float* tiles, std::int64_t tile_floats,
                                         bool (*nan_lanes)[kSortLanes]) {
  const std::int64_t groups = (count + kSortLanes - 1) / kSortLanes;
  const std::int64_t full = count / kSortLanes;  // groups with all kSortLanes coordinates present
  RowMask nan[kSortRefill] = {};
  RowMask non_finite = {};  // x - x is NaN exactly for NaN and infinite x
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const float* row = static_cast<const float*>(rows[r].data());
    // The next refill's bytes of this row, one cache line per group: K rows are K streams, more
    // than the hardware prefetchers follow.
    for (std::int64_t next = start + count; next < prefetch_end; next += kSortLanes) __builtin_prefetch(row + next);
    float* dst = tiles + static_cast<std::int64_t>(r) * kSortLanes;
    for (std::int64_t g = 0; g < full; ++g) {
      Row v;
      load(v, row + start + g * kSortLanes);
      const Row zero_if_finite = v - v;
      nan[g] |= v != v;
      non_finite |= zero_if_finite != zero_if_finite;
      store(dst + g * tile_floats, v);
    }
    if (full < groups) {  // the ragged last group: copy what exists, zero the rest
      float* tail = dst + full * tile_floats;
      const std::int64_t width = count - full * kSortLanes;
      for (std::int64_t l = 0; l < kSortLanes; ++l) tail[l] = l < width ? row[start + full * kSortLanes + l] : 0.0f;
      Row v;
      load(v, tail);
      const Row zero_if_finite = v - v;
      nan[full] |= v != v;
      non_finite |= zero_if_finite != zero_if_finite;
    }
  }
  bool any_non_finite = false;
  for (int l = 0; l < kSortLanes; ++l) any_non_finite |= non_finite[l] != 0;
  for (std::int64_t g = 0; g < groups; ++g) {
    for (int l = 0; l < kSortLanes; ++l) nan_lanes[g][l] = nan[g][l] != 0;
  }
  return any_non_finite;
}

std::int64_t network_rows(std::int64_t k) {
  std::int64_t n = 8;
  while (n < k) n *= 2;
  return n;
}

// Bitonic sort: for each block size `size`, merge stages at distances size/2, ..., 1; row i's
// comparators run ascending when (i & size) == 0. Stages go three at a time where they can.
MLFORGE_TARGET_CLONES void sort_lanes(float* tile, std::int64_t n) {
  for (std::int64_t size = 2; size <= n; size *= 2) {
    std::int64_t j = size / 2;
    while (j >= 1) {
      if (j >= 4) {
        const std::int64_t s = j / 4;
        for (std::int64_t block = 0; block < n; block += 8 * s) {
          const bool ascending = (block & size) == 0;
          for (std::int64_t o = 0; o < s; ++o) stages3(tile, block + o, s, ascending);
        }
        j /= 8;
      } else if (j == 2) {
        for (std::int64_t block = 0; block < n; block += 4) stages2(tile, block, (block & size) == 0);
        j = 0;
      } else {
        for (std::int64_t block = 0; block < n; block += 2) stage1(tile, block, (block & size) == 0);
        j = 0;
      }
    }
  }
}

}  // namespace mlforge::detail
