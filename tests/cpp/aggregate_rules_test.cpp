// Aggregation rules: limiting cases with known answers (the Python suite checks them against
// float64 numpy implementations of each paper's definition).
#include "mlforge/aggregate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "mlforge/error.h"
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
