// Template part of lane_sort.h. Internal.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <limits>
#include <memory>

#include "mlforge/parallel.h"

namespace mlforge::detail {

inline constexpr std::int64_t kSortGroupGrain = 1 << 12;

struct AlignedFree {
  void operator()(float* p) const noexcept { std::free(p); }
};

inline std::unique_ptr<float[], AlignedFree> aligned_floats(std::int64_t count) {
  const auto bytes = static_cast<std::size_t>((count * static_cast<std::int64_t>(sizeof(float)) + 63) / 64 * 64);
  return std::unique_ptr<float[], AlignedFree>(static_cast<float*>(std::aligned_alloc(64, bytes)));
}

template <class Finish>
bool for_each_sorted_group(const std::vector<ArrayView>& rows, std::int64_t length, Finish finish) {
  const auto k = static_cast<std::int64_t>(rows.size());
  std::atomic<bool> non_finite{false};
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
      if (gather_groups(rows, start, count, std::min(hi, start + count + span), tiles.get(), tile_floats, nan_lanes)) {
        non_finite.store(true, std::memory_order_relaxed);
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
  return non_finite.load();
}

}  // namespace mlforge::detail
