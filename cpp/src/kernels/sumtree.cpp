// Batched sum-tree update and search for prioritized sampling.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cuda_entry.h"
#include "kernels/checks.h"
#include "mlforge/kernels.h"
#include "mlforge/parallel.h"

namespace mlforge {
namespace {

std::int64_t check_tree(const char* op, const ArrayView& tree) {
  MLFORGE_CHECK(tree.ndim() == 1, InvalidArgument, "[", op, "] tree: expected a vector, got ", tree.describe());
  const std::int64_t size = tree.shape(0);
  const std::int64_t capacity = size / 2;
  MLFORGE_CHECK(size >= 2 && size % 2 == 0 && (capacity & (capacity - 1)) == 0, InvalidArgument, "[", op,
                "] tree: length must be 2 * capacity with capacity a power of two, got ", size);
  detail::require_array(op, "tree", tree, {DType::kFloat64}, {size}, false, tree.device().type);
  return capacity;
}

}  // namespace

void sumtree_update(const ArrayView& tree, const ArrayView& indices, const ArrayView& priorities, Stream stream) {
  constexpr const char* op = "kernels.sumtree_update";
  const std::int64_t capacity = check_tree(op, tree);
  tree.require_writable(op, "tree");
  const std::int64_t n = indices.ndim() == 1 ? indices.shape(0) : -1;
  const DeviceType where = tree.device().type;
  detail::require_array(op, "indices", indices, {DType::kInt64}, {n}, false, where);
  detail::require_array(op, "priorities", priorities, {DType::kFloat64}, {n}, false, where);
  if (where == DeviceType::kCUDA) return detail::cuda::sumtree_update(tree, indices, priorities, stream);
  const auto* idx = static_cast<const std::int64_t*>(indices.data());
  const auto* prio = static_cast<const double*>(priorities.data());
  for (std::int64_t j = 0; j < n; ++j) {  // validate everything first: a bad batch changes nothing
    MLFORGE_CHECK(idx[j] >= 0 && idx[j] < capacity, InvalidArgument, "[", op, "] indices[", j, "] = ", idx[j],
                  " is outside [0, ", capacity, ")");
    MLFORGE_CHECK(std::isfinite(prio[j]) && prio[j] >= 0.0, InvalidArgument, "[", op, "] priorities[", j, "] = ",
                  prio[j], " must be finite and >= 0");
  }
  auto* t = static_cast<double*>(tree.data());
  std::vector<std::int64_t> nodes(static_cast<std::size_t>(n));
  for (std::int64_t j = 0; j < n; ++j) {
    t[capacity + idx[j]] = prio[j];
    nodes[static_cast<std::size_t>(j)] = (capacity + idx[j]) / 2;
  }
  // Recompute each affected ancestor once per level, from its children: sums never drift.
  while (!nodes.empty() && nodes.front() >= 1) {
    std::sort(nodes.begin(), nodes.end());
    nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
    for (std::int64_t& node : nodes) {
      t[node] = t[2 * node] + t[2 * node + 1];
      node /= 2;
    }
    if (nodes.front() == 0) break;
  }
}

void sumtree_search(const ArrayView& tree, const ArrayView& values, const ArrayView& out_indices, Stream stream) {
  constexpr const char* op = "kernels.sumtree_search";
  const std::int64_t capacity = check_tree(op, tree);
  const std::int64_t n = values.ndim() == 1 ? values.shape(0) : -1;
  const DeviceType where = tree.device().type;
  detail::require_array(op, "values", values, {DType::kFloat64}, {n}, false, where);
  detail::require_array(op, "out_indices", out_indices, {DType::kInt64}, {n}, true, where);
  if (where == DeviceType::kCUDA) return detail::cuda::sumtree_search(tree, values, out_indices, stream);
  if (n == 0) return;  // nothing to look up, as on CUDA
  const auto* t = static_cast<const double*>(tree.data());
  const auto* v = static_cast<const double*>(values.data());
  const double total = t[1];
  MLFORGE_CHECK(total > 0.0, InvalidArgument, "[", op, "] the tree is empty (total priority ", total, ")");
  for (std::int64_t j = 0; j < n; ++j) {
    MLFORGE_CHECK(v[j] >= 0.0 && v[j] < total, InvalidArgument, "[", op, "] values[", j, "] = ", v[j],
                  " is outside [0, total = ", total, ")");
  }
  auto* out = static_cast<std::int64_t*>(out_indices.data());
  parallel_for(0, n, 256, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t j = lo; j < hi; ++j) {
      double value = v[j];
      std::int64_t node = 1;
      while (node < capacity) {
        const std::int64_t left = 2 * node;
        // Rounding can leave value >= the left sum while the right subtree is empty (or the
        // reverse): never step into a subtree with no mass.
        if ((value < t[left] && t[left] > 0.0) || t[left + 1] <= 0.0) {
          node = left;
        } else {
          value -= t[left];
          node = left + 1;
        }
      }
      out[j] = node - capacity;
    }
  });
}

}  // namespace mlforge
