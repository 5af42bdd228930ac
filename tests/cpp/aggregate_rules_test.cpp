// Aggregation rules: limiting cases with known answers (the Python suite checks them against
// float64 numpy implementations of each paper's definition).
#include "mlforge/aggregate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "mlforge/error.h"
#include "mlforge/kernels.h"
#include "mlforge/parallel.h"
#include "mlforge/random.h"

namespace {

using mlforge::ArrayView;
using mlforge::DType;

struct Clients {
  std::int64_t k, d;
  std::vector<float> data;
  std::vector<ArrayView> rows;
  Clients(std::int64_t k_, std::int64_t d_) : k(k_), d(d_), data(static_cast<std::size_t>(k_ * d_)) {
    mlforge::fill_normal(ArrayView(data.data(), DType::kFloat32, {k * d}), 9, 0, 0);
    for (std::int64_t r = 0; r < k; ++r) rows.emplace_back(data.data() + r * d, DType::kFloat32, std::initializer_list<std::int64_t>{d});
  }
  std::vector<double> mean() const {
    std::vector<double> m(static_cast<std::size_t>(d), 0.0);
    for (std::int64_t r = 0; r < k; ++r)
      for (std::int64_t j = 0; j < d; ++j) m[static_cast<std::size_t>(j)] += data[static_cast<std::size_t>(r * d + j)] / static_cast<double>(k);
    return m;
  }
};

TEST(AggregateRules, KrumNeverPicksAFarAttacker) {
  Clients c(10, 500);
  for (std::int64_t j = 0; j < c.d; ++j) c.data[static_cast<std::size_t>(j)] += 100.0f;  // client 0 attacks
  std::vector<float> out(500);
  std::vector<std::int64_t> chosen(3);
  mlforge::multi_krum(c.rows, 2, 3, ArrayView(out.data(), DType::kFloat32, {500}), ArrayView(chosen.data(), DType::kInt64, {3}));
  for (std::int64_t i : chosen) EXPECT_NE(i, 0);
}

TEST(AggregateRules, ByzantineBudgetsAreEnforced) {
  Clients c(6, 8);
  std::vector<float> out(8);
  std::vector<double> scores(6);
  EXPECT_THROW(mlforge::krum_scores(c.rows, 2, ArrayView(scores.data(), DType::kFloat64, {6})), mlforge::InvalidArgument);
  EXPECT_NO_THROW(mlforge::krum_scores(c.rows, 1, ArrayView(scores.data(), DType::kFloat64, {6})));
  EXPECT_THROW(mlforge::bulyan(c.rows, 1, ArrayView(out.data(), DType::kFloat32, {8})), mlforge::InvalidArgument);
}

TEST(AggregateRules, LimitingCasesEqualTheMean) {
  Clients c(7, 300);
  const std::vector<double> mean = c.mean();
  std::vector<float> bulyan(300), clipped(300);
  mlforge::bulyan(c.rows, 0, ArrayView(bulyan.data(), DType::kFloat32, {300}));  // f = 0: every pick, no trimming
  mlforge::centered_clip(c.rows, 1e9, 1, {}, ArrayView(clipped.data(), DType::kFloat32, {300}));  // no clipping
  for (std::size_t j = 0; j < 300; ++j) {
    EXPECT_NEAR(bulyan[j], mean[j], 1e-5);
    EXPECT_NEAR(clipped[j], mean[j], 1e-5);
  }
}

TEST(AggregateRules, GeometricMedianOfSymmetricPointsIsTheCentre) {
  // Four points at the corners of a square around (1, 2): the geometric median is its centre.
  std::vector<float> points = {0, 1, 2, 1, 0, 3, 2, 3};
  std::vector<ArrayView> rows;
  for (int r = 0; r < 4; ++r) rows.emplace_back(points.data() + 2 * r, DType::kFloat32, std::initializer_list<std::int64_t>{2});
  std::vector<double> weights(4, 1.0);
  std::vector<float> out(2);
  const std::int64_t iterations = mlforge::geometric_median(rows, ArrayView(weights.data(), DType::kFloat64, {4}), 1e-5, 10,
                                                            1e-9, ArrayView(out.data(), DType::kFloat32, {2}));
  EXPECT_GE(iterations, 1);
  EXPECT_NEAR(out[0], 1.0f, 1e-6);
  EXPECT_NEAR(out[1], 2.0f, 1e-6);
  weights[2] = -1.0;
  EXPECT_THROW(mlforge::geometric_median(rows, ArrayView(weights.data(), DType::kFloat64, {4}), 1e-5, 10, 1e-9,
                                         ArrayView(out.data(), DType::kFloat32, {2})),
               mlforge::InvalidArgument);
}

}  // namespace

// ---- The tiled kernels (sorting network, float32 Gram blocks) against direct scalar definitions,
// on the shapes their blocking makes special: K not a multiple of the block or a power of two, D
// not a multiple of the tile, duplicated rows, large common offsets, NaN/inf, ties.

namespace reference {

std::vector<double> column(const Clients& c, std::int64_t j) {
  std::vector<double> v;
  for (std::int64_t r = 0; r < c.k; ++r) v.push_back(c.data[static_cast<std::size_t>(r * c.d + j)]);
  return v;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double trimmed_mean(std::vector<double> v, double beta) {
  std::sort(v.begin(), v.end());
  const auto cut = static_cast<std::size_t>(std::floor(beta * static_cast<double>(v.size())));
  double total = 0.0;
  for (std::size_t i = cut; i < v.size() - cut; ++i) total += v[i];
  return total / static_cast<double>(v.size() - 2 * cut);
}

// Mean of the beta values closest to the median, stable in row order (Bulyan's coordinate step).
double closest_mean(const std::vector<double>& v, std::size_t beta, bool higher_row_first = false) {
  const double m = median(v);
  std::vector<std::size_t> order(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) order[i] = higher_row_first ? v.size() - 1 - i : i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return std::fabs(v[a] - m) < std::fabs(v[b] - m); });
  double total = 0.0;
  for (std::size_t i = 0; i < beta; ++i) total += v[order[i]];
  return total / static_cast<double>(beta);
}

double sq_distance(const Clients& c, std::int64_t a, std::int64_t b) {
  double total = 0.0;
  for (std::int64_t j = 0; j < c.d; ++j) {
    const double diff = static_cast<double>(c.data[static_cast<std::size_t>(a * c.d + j)]) -
                        static_cast<double>(c.data[static_cast<std::size_t>(b * c.d + j)]);
    total += diff * diff;
  }
  return total;
}

}  // namespace reference

TEST(AggregateKernels, MedianAndTrimmedMeanMatchTheSortedDefinitionForAnyK) {
  for (std::int64_t k : {1, 2, 3, 7, 8, 9, 16, 17, 31, 64, 100, 129, 1030}) {
    const std::int64_t d = k > 200 ? 37 : 1000 + k;  // never a multiple of the 16-lane groups
    Clients c(k, d);
    for (std::int64_t j = 0; j < d; j += 7) c.data[static_cast<std::size_t>(((j * 31) % k) * d + j)] = 0.0f;
    for (std::int64_t j = 3; j < d && k > 2; j += 11) {  // duplicated values and infinities
      c.data[static_cast<std::size_t>(j)] = c.data[static_cast<std::size_t>(d + j)];
      c.data[static_cast<std::size_t>(2 * d + j)] = j % 2 ? INFINITY : -INFINITY;
    }
    std::vector<float> median(static_cast<std::size_t>(d)), trimmed(static_cast<std::size_t>(d));
    mlforge::coordinate_median(c.rows, ArrayView(median.data(), DType::kFloat32, {d}));
    mlforge::coordinate_trimmed_mean(c.rows, 0.2, ArrayView(trimmed.data(), DType::kFloat32, {d}));
    for (std::int64_t j = 0; j < d; ++j) {
      const std::vector<double> v = reference::column(c, j);
      ASSERT_EQ(median[static_cast<std::size_t>(j)], static_cast<float>(reference::median(v))) << "k=" << k << " j=" << j;
      const double expected = reference::trimmed_mean(v, 0.2);
      if (std::isfinite(expected)) {
        ASSERT_NEAR(trimmed[static_cast<std::size_t>(j)], expected, 1e-6 * (1.0 + std::fabs(expected))) << "k=" << k << " j=" << j;
      } else {
        ASSERT_EQ(trimmed[static_cast<std::size_t>(j)], static_cast<float>(expected)) << "k=" << k << " j=" << j;
      }
    }
  }
}

TEST(AggregateKernels, NanGivesNanInItsCoordinateOnly) {
  for (std::int64_t k : {5, 100, 1030}) {
    Clients c(k, 50);
    c.data[static_cast<std::size_t>((k - 1) * 50 + 17)] = NAN;
    std::vector<float> median(50), trimmed(50);
    mlforge::coordinate_median(c.rows, ArrayView(median.data(), DType::kFloat32, {50}));
    mlforge::coordinate_trimmed_mean(c.rows, 0.1, ArrayView(trimmed.data(), DType::kFloat32, {50}));
    for (std::size_t j = 0; j < 50; ++j) {
      EXPECT_EQ(std::isnan(median[j]), j == 17) << k;
      EXPECT_EQ(std::isnan(trimmed[j]), j == 17) << k;
    }
  }
}

// The exception's message, or "" when `call` returns.
template <class Call>
std::string error_of(Call call) {
  try {
    call();
  } catch (const mlforge::InvalidArgument& error) {
    return error.what();
  }
  return "";
}

TEST(AggregateKernels, RejectModeNamesTheFirstRowHoldingNanOrInfinity) {
  using mlforge::NonFinite;
  for (std::int64_t k : {5, 100, 1030}) {  // network path and (K > 1024) selection path
    for (float bad : {NAN, INFINITY, -INFINITY}) {
      Clients c(k, 40);
      c.data[static_cast<std::size_t>((k - 1) * 40 + 39)] = bad;  // last row, last (ragged-group) coordinate
      c.data[static_cast<std::size_t>(3 * 40 + 21)] = bad;
      std::vector<float> out(40);
      const ArrayView view(out.data(), DType::kFloat32, {40});
      const std::string median = error_of([&] { mlforge::coordinate_median(c.rows, view, {}, NonFinite::kReject); });
      const std::string trimmed =
          error_of([&] { mlforge::coordinate_trimmed_mean(c.rows, 0.2, view, {}, NonFinite::kReject); });
      EXPECT_NE(median.find("updates[3] contains NaN or infinite values"), std::string::npos) << k << median;
      EXPECT_NE(trimmed.find("updates[3] contains NaN or infinite values"), std::string::npos) << k << trimmed;
      EXPECT_EQ(error_of([&] { mlforge::coordinate_median(c.rows, view); }), "");  // propagation stays the default
    }
    Clients finite(k, 40);
    finite.data[7] = 3.4e38f;  // FLT_MAX-sized values are finite, not rejected
    std::vector<float> out(40);
    EXPECT_EQ(error_of([&] {
                mlforge::coordinate_median(finite.rows, ArrayView(out.data(), DType::kFloat32, {40}), {},
                                           NonFinite::kReject);
              }),
              "");
  }
}

TEST(AggregateKernels, PairwiseDistancesOfSubnormalUpdatesAreFiniteAndExact) {
  // Every value below 2^-126: the per-tile power-of-two scale must stay finite in float32.
  Clients c(9, 300);
  for (float& v : c.data) v *= 1e-40f;
  std::vector<double> distances(81);
  mlforge::pairwise_sq_distances(c.rows, ArrayView(distances.data(), DType::kFloat64, {9, 9}));
  for (std::int64_t i = 0; i < 9; ++i) {
    for (std::int64_t j = 0; j < 9; ++j) {
      double expected = 0.0;
      for (std::int64_t d = 0; d < 300; ++d) {
        const double diff = static_cast<double>(c.data[static_cast<std::size_t>(i * 300 + d)]) -
                            static_cast<double>(c.data[static_cast<std::size_t>(j * 300 + d)]);
        expected += diff * diff;
      }
      const double got = distances[static_cast<std::size_t>(i * 9 + j)];
      ASSERT_TRUE(std::isfinite(got)) << i << "," << j;
      EXPECT_NEAR(got, expected, 1e-6 * expected + 1e-95) << i << "," << j;
    }
  }
}

TEST(AggregateRules, KrumFamilyRejectsNanOrInfinityByRow) {
  for (float bad : {NAN, INFINITY}) {
    for (std::int64_t first_bad : {0, 4}) {  // a bad row 0 is also the likeliest central row
      Clients c(11, 700);
      c.data[static_cast<std::size_t>(first_bad * 700 + 300)] = bad;
      c.data[static_cast<std::size_t>(9 * 700 + 5)] = bad;
      std::vector<float> out(700);
      std::vector<double> distances(121);
      mlforge::pairwise_sq_distances(c.rows, ArrayView(distances.data(), DType::kFloat64, {11, 11}));
      EXPECT_TRUE(std::isnan(distances[static_cast<std::size_t>(first_bad * 11 + first_bad)]));
      EXPECT_TRUE(std::isnan(distances[static_cast<std::size_t>(first_bad * 11 + 2)]));
      const std::string expected = "updates[" + std::to_string(first_bad) + "] contains NaN or infinite values";
      const ArrayView view(out.data(), DType::kFloat32, {700});
      EXPECT_NE(error_of([&] { mlforge::multi_krum(c.rows, 2, 3, view); }).find(expected), std::string::npos);
      EXPECT_NE(error_of([&] { mlforge::bulyan(c.rows, 2, view); }).find(expected), std::string::npos);
    }
  }
}

TEST(AggregateKernels, PairwiseDistancesAreAccurateOnEveryBlockingEdge) {
  // K = 13 (not a multiple of the 4-row block), D = 1000 (not of the 256-column tile); rows 3 and
  // 11 equal, row 7 a near copy of row 2 (its distance is far below the norms: float32 Gram entries
  // would lose it), and a large common offset (an uncentred Gram would cancel catastrophically).
  for (float offset : {0.0f, 3000.0f}) {
    Clients c(13, 1000);
    for (auto& x : c.data) x += offset;
    for (std::int64_t j = 0; j < c.d; ++j) {
      c.data[static_cast<std::size_t>(11 * c.d + j)] = c.data[static_cast<std::size_t>(3 * c.d + j)];
      c.data[static_cast<std::size_t>(7 * c.d + j)] =
          c.data[static_cast<std::size_t>(2 * c.d + j)] + (j % 3 == 0 ? 1e-3f * (1.0f + offset / 8.0f) : 0.0f);
    }
    std::vector<double> d(13 * 13);
    mlforge::pairwise_sq_distances(c.rows, ArrayView(d.data(), DType::kFloat64, {13, 13}));
    for (std::int64_t a = 0; a < 13; ++a) {
      for (std::int64_t b = 0; b < 13; ++b) {
        const double expected = a == b ? 0.0 : reference::sq_distance(c, a, b);
        ASSERT_NEAR(d[static_cast<std::size_t>(a * 13 + b)], expected, 1e-6 * expected) << a << "," << b << " offset " << offset;
        ASSERT_EQ(d[static_cast<std::size_t>(a * 13 + b)], d[static_cast<std::size_t>(b * 13 + a)]);
      }
    }
    EXPECT_EQ(d[3 * 13 + 11], 0.0);
  }
}

TEST(AggregateKernels, PairwiseDistancesDoNotDependOnTheThreadCount) {
  Clients c(37, 70'001);
  std::vector<double> one(37 * 37), many(37 * 37);
  const int threads = mlforge::num_threads();
  mlforge::set_num_threads(1);
  mlforge::pairwise_sq_distances(c.rows, ArrayView(one.data(), DType::kFloat64, {37, 37}));
  mlforge::set_num_threads(4);
  mlforge::pairwise_sq_distances(c.rows, ArrayView(many.data(), DType::kFloat64, {37, 37}));
  mlforge::set_num_threads(threads);
  EXPECT_EQ(one, many);
}

TEST(AggregateRules, BulyanMatchesTheDefinitionIncludingTies) {
  // Integer-valued updates make exact distance ties around the median common: the lower row wins.
  for (std::int64_t f : {1, 2}) {
    const std::int64_t k = 4 * f + 3 + 2, d = 203;
    Clients c(k, d);
    for (auto& x : c.data) x = std::round(x * 2.0f);
    std::vector<float> out(static_cast<std::size_t>(d));
    mlforge::bulyan(c.rows, f, ArrayView(out.data(), DType::kFloat32, {d}));
    // The reference: recursive Krum on exact distances, then the per-coordinate rule.
    std::vector<std::int64_t> remaining;
    for (std::int64_t i = 0; i < k; ++i) remaining.push_back(i);
    std::vector<std::int64_t> picks;
    for (std::int64_t t = 0; t < k - 2 * f; ++t) {
      const auto n = static_cast<std::int64_t>(remaining.size());
      const std::int64_t nearest = std::min(n - 1, std::max<std::int64_t>(1, n - f - 2));
      std::size_t best = 0;
      double best_score = INFINITY;
      for (std::size_t a = 0; a < remaining.size(); ++a) {
        std::vector<double> others;
        for (std::size_t b = 0; b < remaining.size(); ++b) {
          if (a != b) others.push_back(reference::sq_distance(c, remaining[a], remaining[b]));
        }
        std::sort(others.begin(), others.end());
        double score = 0.0;
        for (std::int64_t i = 0; i < nearest; ++i) score += others[static_cast<std::size_t>(i)];
        if (score < best_score) best_score = score, best = a;
      }
      picks.push_back(remaining[best]);
      remaining.erase(remaining.begin() + static_cast<std::ptrdiff_t>(best));
    }
    const auto beta = static_cast<std::size_t>(k - 4 * f);
    int ties = 0;
    for (std::int64_t j = 0; j < d; ++j) {
      std::vector<double> v;
      for (std::int64_t p : picks) v.push_back(c.data[static_cast<std::size_t>(p * d + j)]);
      const double expected = reference::closest_mean(v, beta);
      ties += expected != reference::closest_mean(v, beta, /*higher_row_first=*/true);
      ASSERT_NEAR(out[static_cast<std::size_t>(j)], expected, 1e-6 * (1.0 + std::fabs(expected))) << "f=" << f << " j=" << j;
    }
    EXPECT_GT(ties, 10) << "the data must make the tie rule matter";
  }
}
