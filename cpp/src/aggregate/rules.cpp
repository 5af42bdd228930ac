// Robust aggregation rules (see mlforge/aggregate.h for the definitions they implement).
#include "mlforge/aggregate.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "kernels/checks.h"
#include "kernels/coordinates.h"
#include "kernels/lane_sort.h"
#include "mlforge/error.h"
#include "mlforge/kernels.h"
#include "mlforge/parallel.h"

namespace mlforge {
namespace {

// The pairwise distances; a row holding NaN or infinity (NaN distances) is rejected by name.
std::vector<double> distance_matrix(const char* op, const std::vector<ArrayView>& rows) {
  const auto k = static_cast<std::int64_t>(rows.size());
  std::vector<double> distances(static_cast<std::size_t>(k * k));
  pairwise_sq_distances(rows, ArrayView(distances.data(), DType::kFloat64, {k, k}));
  if (!std::all_of(distances.begin(), distances.end(), [](double d) { return std::isfinite(d); })) {
    detail::require_finite_rows(op, rows);
  }
  return distances;
}

// Krum scores of the rows in `members` (indices into the K x K matrix): the sum of the squared
// distances to the max(1, n - f - 2) nearest other members (Flower's rule for shrinking sets).
std::vector<double> scores_among(const std::vector<double>& distances, std::int64_t k,
                                 const std::vector<std::int64_t>& members, std::int64_t f) {
  const auto n = static_cast<std::int64_t>(members.size());
  const std::int64_t nearest = std::min(n - 1, std::max<std::int64_t>(1, n - f - 2));
  std::vector<double> scores(members.size(), 0.0), others;
  for (std::size_t a = 0; a < members.size(); ++a) {
    others.clear();
    for (std::size_t b = 0; b < members.size(); ++b) {
      if (a != b) others.push_back(distances[static_cast<std::size_t>(members[a] * k + members[b])]);
    }
    std::partial_sort(others.begin(), others.begin() + nearest, others.end());
    scores[a] = std::accumulate(others.begin(), others.begin() + nearest, 0.0);
  }
  return scores;
}

// Indices of `members` ordered by score, ties by position (stable).
std::vector<std::size_t> ranking(const std::vector<double>& scores) {
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  return order;
}

void mean_of(const std::vector<ArrayView>& rows, const std::vector<std::int64_t>& chosen, const ArrayView& out) {
  std::vector<ArrayView> subset;
  for (std::int64_t i : chosen) subset.push_back(rows[static_cast<std::size_t>(i)]);
  std::vector<double> weights(chosen.size(), 1.0 / static_cast<double>(chosen.size()));
  weighted_sum(subset, ArrayView(weights.data(), DType::kFloat64, {static_cast<std::int64_t>(weights.size())}), out);
}

// ||x_i - z|| for every row, float64 accumulation, one task per row.
std::vector<double> distances_to(const std::vector<ArrayView>& rows, const std::vector<float>& z) {
  std::vector<double> out(rows.size());
  parallel_for(0, static_cast<std::int64_t>(rows.size()), 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) {
      const auto* x = static_cast<const float*>(rows[static_cast<std::size_t>(r)].data());
      double total = 0.0;
      for (std::size_t d = 0; d < z.size(); ++d) {
        const double diff = static_cast<double>(x[d]) - z[d];
        total += diff * diff;
      }
      out[static_cast<std::size_t>(r)] = std::sqrt(total);
    }
  });
  return out;
}

// Bulyan's per-coordinate step on one coordinate's values sorted ascending (sorted[i * stride],
// i < count): the mean of the beta values closest to the median, ties of distance going to the
// lower row (a stable sort of the rows by |x - median|, as in the definition).
//
// Distances are monotone along the sorted values on each side of the median, so the beta closest
// values form a window around the middle; it is found by walking outwards, O(beta). The window
// decides the result unless values outside it tie with the last distance taken: then, and only if
// the tied values differ, the rows are scanned in order to apply the lower-row rule. The original
// column is `column` when given, else column `coordinate` of `picks`.
double closest_to_median_mean(const float* sorted, std::int64_t stride, std::int64_t count, std::int64_t beta,
                              const std::vector<ArrayView>& picks, std::int64_t coordinate,
                              const float* column = nullptr) {
  auto at = [&](std::int64_t i) { return static_cast<double>(sorted[i * stride]); };
  const std::int64_t half = count / 2;
  const double median = count % 2 == 1 ? at(half) : 0.5 * (at(half - 1) + at(half));
  auto distance = [&](double x) { return std::fabs(x - median); };
  std::int64_t left = half - 1, right = half;  // next candidates; the window is (left, right)
  double last = 0.0, total = 0.0;
  for (std::int64_t taken = 0; taken < beta; ++taken) {
    const bool take_right = left < 0 || (right < count && distance(at(right)) <= distance(at(left)));
    const double x = take_right ? at(right++) : at(left--);
    last = distance(x);
    total += x;
  }
  // Values tied with the last distance taken, inside and outside the window.
  bool outside = (left >= 0 && distance(at(left)) == last) || (right < count && distance(at(right)) == last);
  if (!outside) return total / static_cast<double>(beta);
  double tied_min = INFINITY, tied_max = -INFINITY, closer = 0.0;
  std::int64_t closer_count = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    const double x = at(i), d = distance(x);
    if (d == last) {
      tied_min = std::min(tied_min, x);
      tied_max = std::max(tied_max, x);
    } else if (d < last) {
      closer += x;
      ++closer_count;
    }
  }
  if (tied_min == tied_max) return (closer + static_cast<double>(beta - closer_count) * tied_min) / static_cast<double>(beta);
  std::int64_t needed = beta - closer_count;
  for (std::int64_t r = 0; r < count && needed > 0; ++r) {  // the lower rows of the tie, in row order
    const double x = column != nullptr ? column[r]
                                       : static_cast<const float*>(picks[static_cast<std::size_t>(r)].data())[coordinate];
    if (distance(x) == last) {
      closer += x;
      --needed;
    }
  }
  return closer / static_cast<double>(beta);
}

void require_byzantine_budget(const char* rule, std::int64_t k, std::int64_t f, std::int64_t factor,
                              std::int64_t extra, bool strict) {
  MLFORGE_CHECK(f >= 0, InvalidArgument, "[aggregate.", rule, "] f must be >= 0, got ", f);
  const bool ok = strict ? k > factor * f + extra : k >= factor * f + extra;
  MLFORGE_CHECK(ok, InvalidArgument, "[aggregate.", rule, "] needs ", strict ? "more than " : "at least ",
                factor, "f + ", extra, " = ", factor * f + extra, " clients for f = ", f, ", got ", k);
}

}  // namespace

void krum_scores(const std::vector<ArrayView>& rows, std::int64_t f, const ArrayView& scores) {
  const std::int64_t length = detail::require_rows("aggregate.krum", rows);
  (void)length;
  const auto k = static_cast<std::int64_t>(rows.size());
  require_byzantine_budget("krum", k, f, 2, 2, /*strict=*/true);
  detail::require_array("aggregate.krum", "scores", scores, {DType::kFloat64}, {k}, true);
  std::vector<std::int64_t> all(static_cast<std::size_t>(k));
  std::iota(all.begin(), all.end(), std::int64_t{0});
  const std::vector<double> s = scores_among(distance_matrix("aggregate.krum", rows), k, all, f);
  std::copy(s.begin(), s.end(), static_cast<double*>(scores.data()));
}

void multi_krum(const std::vector<ArrayView>& rows, std::int64_t f, std::int64_t m, const ArrayView& out,
                const ArrayView& selected) {
  constexpr const char* op = "aggregate.multi_krum";
  const std::int64_t length = detail::require_rows(op, rows);
  const auto k = static_cast<std::int64_t>(rows.size());
  require_byzantine_budget("multi_krum", k, f, 2, 2, /*strict=*/true);
  MLFORGE_CHECK(m >= 1 && m <= k, InvalidArgument, "[", op, "] m must be in [1, ", k, "], got ", m);
  detail::require_array(op, "out", out, {DType::kFloat32}, {length}, true);
  if (selected.data() != nullptr) detail::require_array(op, "selected", selected, {DType::kInt64}, {m}, true);
  std::vector<double> scores(static_cast<std::size_t>(k));
  krum_scores(rows, f, ArrayView(scores.data(), DType::kFloat64, {k}));
  const std::vector<std::size_t> order = ranking(scores);
  std::vector<std::int64_t> chosen(order.begin(), order.begin() + m);
  if (selected.data() != nullptr) std::copy(chosen.begin(), chosen.end(), static_cast<std::int64_t*>(selected.data()));
  mean_of(rows, chosen, out);
}

void bulyan(const std::vector<ArrayView>& rows, std::int64_t f, const ArrayView& out) {
  constexpr const char* op = "aggregate.bulyan";
  const std::int64_t length = detail::require_rows(op, rows);
  const auto k = static_cast<std::int64_t>(rows.size());
  require_byzantine_budget("bulyan", k, f, 4, 3, /*strict=*/false);
  detail::require_array(op, "out", out, {DType::kFloat32}, {length}, true);
  const std::vector<double> distances = distance_matrix(op, rows);
  std::vector<std::int64_t> remaining(static_cast<std::size_t>(k));
  std::iota(remaining.begin(), remaining.end(), std::int64_t{0});
  std::vector<ArrayView> picks;
  const std::int64_t theta = k - 2 * f;
  for (std::int64_t t = 0; t < theta; ++t) {  // recursive Krum: the scores change as the set shrinks
    const std::vector<double> scores = scores_among(distances, k, remaining, f);
    const std::size_t best = ranking(scores).front();
    picks.push_back(rows[static_cast<std::size_t>(remaining[best])]);
    remaining.erase(remaining.begin() + static_cast<std::ptrdiff_t>(best));
  }
  const std::int64_t beta = theta - 2 * f;
  auto* result = static_cast<float*>(out.data());
  if (theta <= detail::kMaxNetworkRows) {
    detail::for_each_sorted_group(picks, length, [&](const float* sorted, const bool* nan, std::int64_t first,
                                                      std::int64_t width) {
      for (std::int64_t l = 0; l < width; ++l) {
        result[first + l] = nan[l] ? std::numeric_limits<float>::quiet_NaN()
                                   : static_cast<float>(closest_to_median_mean(sorted + l, detail::kSortLanes, theta,
                                                                               beta, picks, first + l));
      }
    });
    return;
  }
  detail::per_coordinate(picks, length, result, [&](float* values, std::int64_t count) {
    std::vector<float> sorted(values, values + count);
    std::sort(sorted.begin(), sorted.end());
    return closest_to_median_mean(sorted.data(), 1, count, beta, picks, -1, values);
  });
}

std::int64_t geometric_median(const std::vector<ArrayView>& rows, const ArrayView& weights, double nu,
                              std::int64_t max_iter, double ftol, const ArrayView& out) {
  constexpr const char* op = "aggregate.geometric_median";
  const std::int64_t length = detail::require_rows(op, rows);
  const auto k = static_cast<std::int64_t>(rows.size());
  detail::require_array(op, "weights", weights, {DType::kFloat64}, {k});
  detail::require_array(op, "out", out, {DType::kFloat32}, {length}, true);
  MLFORGE_CHECK(std::isfinite(nu) && nu > 0.0, InvalidArgument, "[", op, "] nu must be finite and > 0, got ", nu);
  MLFORGE_CHECK(max_iter >= 0, InvalidArgument, "[", op, "] max_iter must be >= 0, got ", max_iter);
  MLFORGE_CHECK(std::isfinite(ftol) && ftol >= 0.0, InvalidArgument, "[", op, "] ftol must be finite and >= 0, got ",
                ftol);
  const auto* a = static_cast<const double*>(weights.data());
  double total_weight = 0.0;
  for (std::int64_t i = 0; i < k; ++i) {
    MLFORGE_CHECK(std::isfinite(a[i]) && a[i] >= 0.0, InvalidArgument, "[", op, "] weights[", i,
                  "] must be finite and >= 0, got ", a[i]);
    total_weight += a[i];
  }
  MLFORGE_CHECK(total_weight > 0.0, InvalidArgument, "[", op, "] the weights must not all be 0");
  std::vector<float> z(static_cast<std::size_t>(length));
  const ArrayView z_view(z.data(), DType::kFloat32, {length});
  std::vector<double> b(static_cast<std::size_t>(k));
  for (std::int64_t i = 0; i < k; ++i) b[static_cast<std::size_t>(i)] = a[i] / total_weight;
  weighted_sum(rows, ArrayView(b.data(), DType::kFloat64, {k}), z_view);  // z0: the weighted mean
  auto objective = [&](const std::vector<double>& d) {
    double value = 0.0;
    for (std::int64_t i = 0; i < k; ++i) value += a[i] * d[static_cast<std::size_t>(i)];
    return value;
  };
  std::vector<double> d = distances_to(rows, z);
  double value = objective(d);
  std::int64_t iterations = 0;
  while (iterations < max_iter) {
    double sum_b = 0.0;
    for (std::int64_t i = 0; i < k; ++i) {
      b[static_cast<std::size_t>(i)] = a[i] / std::max(nu, d[static_cast<std::size_t>(i)]);
      sum_b += b[static_cast<std::size_t>(i)];
    }
    for (double& weight : b) weight /= sum_b;
    weighted_sum(rows, ArrayView(b.data(), DType::kFloat64, {k}), z_view);
    ++iterations;
    d = distances_to(rows, z);
    const double previous = value;
    value = objective(d);
    if (std::fabs(previous - value) < ftol * value) break;
  }
  std::copy(z.begin(), z.end(), static_cast<float*>(out.data()));
  return iterations;
}

void centered_clip(const std::vector<ArrayView>& rows, double tau, std::int64_t iterations, const ArrayView& center,
                   const ArrayView& out) {
  constexpr const char* op = "aggregate.centered_clip";
  const std::int64_t length = detail::require_rows(op, rows);
  const auto k = static_cast<std::int64_t>(rows.size());
  MLFORGE_CHECK(std::isfinite(tau) && tau > 0.0, InvalidArgument, "[", op, "] tau must be finite and > 0, got ", tau);
  MLFORGE_CHECK(iterations >= 1, InvalidArgument, "[", op, "] iterations must be >= 1, got ", iterations);
  detail::require_array(op, "out", out, {DType::kFloat32}, {length}, true);
  std::vector<float> v(static_cast<std::size_t>(length), 0.0f);
  if (center.data() != nullptr) {
    detail::require_array(op, "center", center, {DType::kFloat32}, {length});
    std::copy_n(static_cast<const float*>(center.data()), length, v.begin());
  }
  std::vector<float> clipped_sum(static_cast<std::size_t>(length));
  std::vector<double> c(static_cast<std::size_t>(k));
  for (std::int64_t it = 0; it < iterations; ++it) {
    const std::vector<double> d = distances_to(rows, v);
    double kept = 0.0;  // sum of the clipping factors, over K
    for (std::int64_t i = 0; i < k; ++i) {
      const double factor = d[static_cast<std::size_t>(i)] > tau ? tau / d[static_cast<std::size_t>(i)] : 1.0;
      c[static_cast<std::size_t>(i)] = factor / static_cast<double>(k);
      kept += c[static_cast<std::size_t>(i)];
    }
    // v + (1/K) sum c_i (x_i - v) = (1/K) sum c_i x_i + v (1 - (1/K) sum c_i)
    weighted_sum(rows, ArrayView(c.data(), DType::kFloat64, {k}), ArrayView(clipped_sum.data(), DType::kFloat32, {length}));
    for (std::int64_t j = 0; j < length; ++j) {
      v[static_cast<std::size_t>(j)] = static_cast<float>(clipped_sum[static_cast<std::size_t>(j)] +
                                                          static_cast<double>(v[static_cast<std::size_t>(j)]) * (1.0 - kept));
    }
  }
  std::copy(v.begin(), v.end(), static_cast<float*>(out.data()));
}

}  // namespace mlforge
