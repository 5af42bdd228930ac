// Per-coordinate reductions over K rows, shared by the aggregation kernels and rules. Internal.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "mlforge/array.h"
#include "mlforge/parallel.h"

namespace mlforge::detail {

inline constexpr std::int64_t kCoordinateTileGrain = 1 << 13;
inline constexpr std::int64_t kTile = 64;

// Applies `reduce(values, K) -> double` to every coordinate. Rows are copied a tile of kTile
// coordinates at a time (sequential reads of each row), then each coordinate's K values are
// gathered from the tile, so K rows never become K interleaved memory streams.
template <class Reduce>
void per_coordinate(const std::vector<ArrayView>& rows, std::int64_t length, float* out, Reduce reduce) {
  const auto k = static_cast<std::int64_t>(rows.size());
  parallel_for(0, length, kCoordinateTileGrain, [&](std::int64_t lo, std::int64_t hi) {
    std::vector<float> tile(static_cast<std::size_t>(k * kTile));
    std::vector<float> column(static_cast<std::size_t>(k));
    for (std::int64_t start = lo; start < hi; start += kTile) {
      const std::int64_t width = std::min(kTile, hi - start);
      for (std::int64_t r = 0; r < k; ++r) {
        const float* row = static_cast<const float*>(rows[static_cast<std::size_t>(r)].data()) + start;
        std::copy(row, row + width, tile.begin() + r * kTile);
      }
      for (std::int64_t c = 0; c < width; ++c) {
        for (std::int64_t r = 0; r < k; ++r) column[static_cast<std::size_t>(r)] = tile[static_cast<std::size_t>(r * kTile + c)];
        out[start + c] = static_cast<float>(reduce(column.data(), k));
      }
    }
  });
}

}  // namespace mlforge::detail
