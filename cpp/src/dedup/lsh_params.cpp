// The LSH S-curve and the choice of (bands, rows) from a threshold and a target recall.
#include <cmath>

#include "mlforge/dedup/minhash.h"
#include "mlforge/error.h"

namespace mlforge::dedup {
namespace {

// Integral of P over [0, threshold] by composite Simpson: the false-positive area that
// datasketch's optimiser also minimises (without its recall constraint).
double false_positive_area(const LshParams& lsh, double threshold) {
  constexpr int kSteps = 256;  // even
  const double h = threshold / kSteps;
  double sum = lsh_probability(lsh, 0.0) + lsh_probability(lsh, threshold);
  for (int i = 1; i < kSteps; ++i) sum += (i % 2 ? 4.0 : 2.0) * lsh_probability(lsh, i * h);
  return sum * h / 3.0;
}

}  // namespace

double lsh_probability(const LshParams& lsh, double similarity) {
  MLFORGE_CHECK(lsh.bands >= 1 && lsh.rows >= 1, InvalidArgument, "[dedup.lsh] bands and rows must be >= 1, got ",
                lsh.bands, " x ", lsh.rows);
  MLFORGE_CHECK(similarity >= 0.0 && similarity <= 1.0, InvalidArgument,
                "[dedup.lsh] similarity must be in [0, 1], got ", similarity);
  return 1.0 - std::pow(1.0 - std::pow(similarity, lsh.rows), lsh.bands);
}

LshParams choose_lsh_params(double threshold, std::int32_t num_perm, double target_recall) {
  MLFORGE_CHECK(threshold > 0.0 && threshold <= 1.0, InvalidArgument,
                "[dedup.lsh] threshold must be in (0, 1], got ", threshold);
  MLFORGE_CHECK(target_recall > 0.0 && target_recall < 1.0, InvalidArgument,
                "[dedup.lsh] target_recall must be in (0, 1), got ", target_recall);
  MLFORGE_CHECK(num_perm >= 1, InvalidArgument, "[dedup.lsh] num_perm must be >= 1, got ", num_perm);
  LshParams best, most_recall;
  double best_area = INFINITY, best_recall = -1.0;
  for (std::int32_t bands = 1; bands <= num_perm; ++bands) {
    for (std::int32_t rows = 1; bands * rows <= num_perm; ++rows) {
      const LshParams lsh{bands, rows};
      const double recall = lsh_probability(lsh, threshold);
      if (recall > best_recall) best_recall = recall, most_recall = lsh;
      if (recall < target_recall) continue;
      const double area = false_positive_area(lsh, threshold);
      if (area < best_area) best_area = area, best = lsh;
    }
  }
  return best.bands > 0 ? best : most_recall;
}

}  // namespace mlforge::dedup
