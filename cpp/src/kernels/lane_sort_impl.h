// Template part of lane_sort.h. Internal.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <memory>

#include "mlforge/parallel.h"

namespace mlforge::detail {

inline constexpr std::int64_t kSortGroupGrain = 1 << 12;
// Groups copied per refill: each row is read kSortRefill * 64 bytes at a time, so K rows do not
// become K short interleaved streams.
inline constexpr int kSortRefill = 4;

struct AlignedFree {
  void operator()(float* p) const noexcept { std::free(p); }
};

inline std::unique_ptr<float[], AlignedFree> aligned_floats(std::int64_t count) {
  const auto bytes = static_cast<std::size_t>((count * static_cast<std::int64_t>(sizeof(float)) + 63) / 64 * 64);
  return std::unique_ptr<float[], AlignedFree>(static_cast<float*>(std::aligned_alloc(64, bytes)));
}

template <class Finish>
void for_each_sorted_group(const std::vector<ArrayView>& rows, std::int64_t length, Finish finish) {
  const auto k = static_cast<std::int64_t>(rows.size());
  const std::int64_t n = network_rows(k);
  const std::int64_t tile_floats = n * kSortLanes;
  parallel_for(0, length, kSortGroupGrain, [&](std::int64_t lo, std::int64_t hi) {
    auto tiles = aligned_floats(tile_floats * kSortRefill);
    if (!tiles) throw std::bad_alloc();
    bool nan_lanes[kSortRefill][kSortLanes];
    constexpr std::int64_t span = std::int64_t{kSortLanes} * kSortRefill;
    for (std::int64_t start = lo; start < hi; start += span) {
      const std::int64_t count = std::min(span, hi - start);
      const std::int64_t groups = (count + kSortLanes - 1) / kSortLanes;
      for (auto& lanes : nan_lanes) std::fill(lanes, lanes + kSortLanes, false);
      for (std::int64_t r = 0; r < k; ++r) {
        const float* row = static_cast<const float*>(rows[static_cast<std::size_t>(r)].data()) + start;
        for (std::int64_t g = 0; g < groups; ++g) {
          float* dst = tiles.get() + g * tile_floats + r * kSortLanes;
          const std::int64_t width = std::min<std::int64_t>(kSortLanes, count - g * kSortLanes);
          const float* src = row + g * kSortLanes;
          bool* nan = nan_lanes[g];
          if (width == kSortLanes) {
            for (int l = 0; l < kSortLanes; ++l) {
              dst[l] = src[l];
              nan[l] |= src[l] != src[l];
            }
          } else {
            for (std::int64_t l = 0; l < kSortLanes; ++l) {
              const float v = l < width ? src[l] : 0.0f;
              dst[l] = v;
              nan[l] |= v != v;
            }
          }
        }
      }
      for (std::int64_t g = 0; g < groups; ++g) {
        float* tile = tiles.get() + g * tile_floats;
        std::fill(tile + k * kSortLanes, tile + tile_floats, std::numeric_limits<float>::infinity());
        sort_lanes(tile, n);
        finish(static_cast<const float*>(tile), static_cast<const bool*>(nan_lanes[g]), start + g * kSortLanes,
               std::min<std::int64_t>(kSortLanes, count - g * kSortLanes));
      }
    }
  });
}

}  // namespace mlforge::detail
