// In-cluster cosine similarity search for semantic dedup (see mlforge/dedup/semantic.h).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "mlforge/dedup/semantic.h"
#include "mlforge/error.h"
#include "mlforge/parallel.h"

namespace mlforge::dedup {

std::vector<std::int64_t> semantic_clusters(const float* embeddings, std::int64_t n, std::int64_t dim,
                                            const std::int64_t* assignments, double threshold) {
  const char* op = "[dedup.semantic_clusters]";
  MLFORGE_CHECK(n >= 0 && dim >= 1 && (n == 0 || (embeddings && assignments)), InvalidArgument, op,
                " bad shape [", n, ", ", dim, "]");
  MLFORGE_CHECK(threshold >= -1.0 && threshold <= 1.0, InvalidArgument, op, " threshold must be in [-1, 1], got ",
                threshold);
  // Unit rows in float64 so the comparison with the threshold does not depend on summation order.
  std::vector<double> unit(static_cast<std::size_t>(n * dim));
  std::vector<unsigned char> zero(static_cast<std::size_t>(n), 0);
  for (std::int64_t i = 0; i < n; ++i) {
    double norm = 0.0;
    for (std::int64_t k = 0; k < dim; ++k) {
      const double v = embeddings[i * dim + k];
      MLFORGE_CHECK(std::isfinite(v), InvalidArgument, op, " embeddings row ", i, " is not finite");
      norm += v * v;
    }
    norm = std::sqrt(norm);
    zero[static_cast<std::size_t>(i)] = norm == 0.0;
    for (std::int64_t k = 0; k < dim; ++k) {
      unit[static_cast<std::size_t>(i * dim + k)] = norm > 0.0 ? embeddings[i * dim + k] / norm : 0.0;
    }
  }
  // Members of each cluster, in index order.
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return assignments[a] < assignments[b]; });
  std::vector<std::int64_t> starts;
  for (std::int64_t i = 0; i < n; ++i) {
    if (i == 0 || assignments[order[static_cast<std::size_t>(i)]] != assignments[order[static_cast<std::size_t>(i - 1)]]) {
      starts.push_back(i);
    }
  }
  starts.push_back(n);
  std::vector<std::int64_t> parent(static_cast<std::size_t>(n));
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](std::int64_t x) {
    while (parent[static_cast<std::size_t>(x)] != x) x = parent[static_cast<std::size_t>(x)] = parent[static_cast<std::size_t>(parent[static_cast<std::size_t>(x)])];
    return x;
  };
  const auto clusters = static_cast<std::int64_t>(starts.size()) - 1;
  parallel_for(0, clusters, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t c = lo; c < hi; ++c) {
      for (std::int64_t a = starts[static_cast<std::size_t>(c)]; a < starts[static_cast<std::size_t>(c) + 1]; ++a) {
        const std::int64_t i = order[static_cast<std::size_t>(a)];
        if (zero[static_cast<std::size_t>(i)]) continue;
        const double* u = unit.data() + i * dim;
        for (std::int64_t b = starts[static_cast<std::size_t>(c)]; b < a; ++b) {
          const std::int64_t j = order[static_cast<std::size_t>(b)];
          if (zero[static_cast<std::size_t>(j)] || find(i) == find(j)) continue;
          const double* v = unit.data() + j * dim;
          double dot = 0.0;
          for (std::int64_t k = 0; k < dim; ++k) dot += u[k] * v[k];
          if (dot >= threshold) {
            std::int64_t x = find(i), y = find(j);
            if (x > y) std::swap(x, y);
            parent[static_cast<std::size_t>(y)] = x;  // the smaller id is the cluster id
          }
        }
      }
    }
  });
  std::vector<std::int64_t> ids(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) ids[static_cast<std::size_t>(i)] = find(i);
  return ids;
}

}  // namespace mlforge::dedup
