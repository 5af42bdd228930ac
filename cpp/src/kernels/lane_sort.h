// Column-wise sorting of small tiles with a SIMD sorting network. Internal.
//
// A tile holds kSortLanes adjacent coordinates ("lanes") of n rows, row-major: tile[r * kSortLanes + l]
// is client r's value of coordinate l. sort_lanes sorts every lane independently, ascending, with a
// bitonic network: the same compare-exchange sequence for every lane, so kSortLanes coordinates are
// sorted by one run of vector min/max instructions with no data-dependent branches.
#pragma once

#include <cstdint>
#include <vector>

#include "mlforge/array.h"

namespace mlforge::detail {

inline constexpr int kSortLanes = 16;

// Largest K (rows) the tiled network handles; larger K take the scalar nth_element paths, where an
// O(K log^2 K) network would lose to O(K) selection.
inline constexpr std::int64_t kMaxNetworkRows = 1024;

// Smallest power of two >= max(k, 8): the network's row count (rows k.. are +inf padding).
std::int64_t network_rows(std::int64_t k);

// Sorts each lane of `tile` ([n][kSortLanes] floats, 64-byte aligned, n a power of two >= 8)
// ascending. NaN makes the order of its lane unspecified (callers mask such lanes).
void sort_lanes(float* tile, std::int64_t n);

// Groups copied per refill of a worker's tiles: each row is read kSortRefill * 64 bytes at a time,
// so K rows do not become K short interleaved streams.
inline constexpr int kSortRefill = 4;

// Copies coordinates [start, start + count) of every row (count <= kSortLanes * kSortRefill) into
// consecutive tiles of tile_floats floats: tile g, row r, lane l holds rows[r][start + g*kSortLanes + l],
// lanes past `count` hold 0. nan_lanes[g][l] becomes true when that lane holds a NaN. Returns whether
// any copied value is NaN or infinite. Rows' data from `start + count` up to `prefetch_end` (the
// next refill) is prefetched while copying.
bool gather_groups(const std::vector<ArrayView>& rows, std::int64_t start, std::int64_t count,
                   std::int64_t prefetch_end, float* tiles, std::int64_t tile_floats,
                   bool (*nan_lanes)[kSortLanes]);

// Applies finish(sorted, nan_lanes, first, width) to consecutive groups of up to kSortLanes
// coordinates: `sorted` is the [network_rows(K)][kSortLanes] tile of the group's values sorted per
// lane (rows >= K are +inf), nan_lanes[l] is true when lane l held a NaN, `first` is the group's
// first coordinate and `width` its number of coordinates. Groups are chunked deterministically.
// Returns whether any input value is NaN or infinite.
template <class Finish>
bool for_each_sorted_group(const std::vector<ArrayView>& rows, std::int64_t length, Finish finish);

}  // namespace mlforge::detail

#include "kernels/lane_sort_impl.h"
