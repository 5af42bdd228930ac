// Semantic dedup (SemDeDup, Abbas et al. 2023): within each k-means cluster of document embeddings,
// documents whose cosine similarity is at least `threshold` are linked, and each document gets the
// smallest id of its connected component. The caller does the clustering (assignments) and the
// embedding; this is the quadratic in-cluster similarity search, in parallel over clusters.
//
// embeddings: [n, dim] float32, row-major, any norm (rows are normalised here; a zero row is
// nobody's duplicate). assignments: [n] int64 cluster labels (any values). Deterministic: each
// cluster is searched by one thread in index order. Errors: InvalidArgument for a threshold outside
// [-1, 1], non-finite embeddings (naming the row) or bad sizes.
#pragma once

#include <cstdint>
#include <vector>

#include "mlforge/api.h"

namespace mlforge {
namespace dedup {

MLFORGE_API std::vector<std::int64_t> semantic_clusters(const float* embeddings, std::int64_t n, std::int64_t dim,
                                                        const std::int64_t* assignments, double threshold);

}  // namespace dedup
}  // namespace mlforge
