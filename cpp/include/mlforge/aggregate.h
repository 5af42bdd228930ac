// Robust aggregation rules over K client updates (rows: K contiguous float32 CPU vectors of one
// length D, as in kernels.h). Each rule is implemented exactly as its paper defines it; every
// distance and sum accumulates in float64 (see kernels.h: the centred pairwise distances are
// shared by Krum, Multi-Krum and Bulyan). Outputs are float32 [D]. Deterministic for any thread
// count. Errors: InvalidArgument for too few clients for f (naming the rule's requirement), bad
// parameters, or the row errors of kernels.h. Krum, Multi-Krum and Bulyan reject a row holding NaN
// or infinity ("updates[r] contains NaN or infinite values", the first such row), found from the
// pairwise distances at no extra pass. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "mlforge/api.h"
#include "mlforge/array.h"

namespace mlforge {

/// Krum scores (Blanchard et al. 2017): score(i) = sum of the squared distances from row i to its
/// K - f - 2 nearest other rows. Requires K > 2f + 2. Writes scores [K] float64.
MLFORGE_API void krum_scores(const std::vector<ArrayView>& rows, std::int64_t f, const ArrayView& scores);

/// Multi-Krum: the mean of the m rows with the lowest Krum scores (ties: lower index first); m = 1
/// is Krum itself. Requires K > 2f + 2 and 1 <= m <= K. Writes out [D] and, if `selected` is not
/// empty, the chosen indices [m] int64 in selection order.
MLFORGE_API void multi_krum(const std::vector<ArrayView>& rows, std::int64_t f, std::int64_t m, const ArrayView& out,
                            const ArrayView& selected = {});

/// Bulyan (El Mhamdi et al. 2018): theta = K - 2f rows picked by recursive Krum (each pick removed
/// and the scores recomputed on the remainder), then per coordinate the mean of the
/// beta = theta - 2f picked values closest to their coordinate median (ties: lower row first).
/// Requires K >= 4f + 3.
MLFORGE_API void bulyan(const std::vector<ArrayView>& rows, std::int64_t f, const ArrayView& out);

/// Geometric median by smoothed Weiszfeld (RFA, Pillutla et al. 2022): z0 = weighted mean, then
/// b_i = a_i / max(nu, ||z - w_i||), z = sum b_i w_i / sum b_i, for at most max_iter steps, stopping
/// when the objective sum a_i ||z - w_i|| changes by less than ftol times itself. weights [K]
/// float64 >= 0 with a positive sum. Returns the number of iterations made.
MLFORGE_API std::int64_t geometric_median(const std::vector<ArrayView>& rows, const ArrayView& weights, double nu,
                                          std::int64_t max_iter, double ftol, const ArrayView& out);

/// Centered clipping (Karimireddy et al. 2021): v <- v + (1/K) sum_i (x_i - v) min(1, tau / ||x_i - v||),
/// `iterations` times, starting from `center` [D] float32 (e.g. the previous aggregate; zeros when
/// empty). tau > 0, iterations >= 1.
MLFORGE_API void centered_clip(const std::vector<ArrayView>& rows, double tau, std::int64_t iterations,
                               const ArrayView& center, const ArrayView& out);

/// Server optimizers on the pseudo-gradient (Reddi et al. 2021, "Adaptive Federated Optimization";
/// FedAvgM: Hsu et al. 2019). With delta = the aggregated client update (mean of x_i - x):
///   kFedAvgM:    m = beta1 m + delta;                              x += eta m
///   kFedAdagrad: m = beta1 m + (1 - beta1) delta; v = v + delta^2;  x += eta m / (sqrt(v) + tau)
///   kFedYogi:    ... v = v - (1 - beta2) delta^2 sign(v - delta^2); x += eta m / (sqrt(v) + tau)
///   kFedAdam:    ... v = beta2 v + (1 - beta2) delta^2;             x += eta m / (sqrt(v) + tau)
/// One fused, multi-threaded pass in place over params, m and v (float32 [D], contiguous; v unused
/// by kFedAvgM); the state (m, v) is the caller's to checkpoint. Throws InvalidArgument for shape
/// or dtype mismatches, non-finite or negative hyper-parameters, beta outside [0, 1).
enum class ServerOptimizer : int { kFedAvgM = 0, kFedAdagrad = 1, kFedYogi = 2, kFedAdam = 3 };

MLFORGE_API void server_optimizer_step(ServerOptimizer type, const ArrayView& params, const ArrayView& delta,
                                       const ArrayView& m, const ArrayView& v, double eta, double beta1, double beta2,
                                       double tau);

/// Streaming aggregation: client updates are added one at a time as they arrive, in O(D) memory
/// whatever the number of clients. Each update u_i (float32 [D], contiguous) with weight a_i >= 0
/// is optionally clipped to L2 norm C (u_i * min(1, C / ||u_i||), the DP clipping of McMahan et
/// al. 2018) and accumulated as a_i u_i into float64 sums with Kahan compensation, so the result
/// does not drift with K. mean() = sum_i a_i u_i / sum_i a_i; sum() = sum_i a_i u_i.
/// Per coordinate the arithmetic is sequential in arrival order: results do not depend on the
/// thread count. Thread-safe: add() calls from several threads are serialised (arrival order is
/// then the order they take the lock). Throws InvalidArgument for a wrong shape or dtype, a
/// non-finite update (naming the first bad coordinate) or a negative/non-finite weight, before
/// anything changes.
class MLFORGE_API StreamingAggregator {
 public:
  explicit StreamingAggregator(std::int64_t dim, double clip_norm = 0.0);  // clip_norm 0: no clipping
  ~StreamingAggregator();
  StreamingAggregator(const StreamingAggregator&) = delete;
  StreamingAggregator& operator=(const StreamingAggregator&) = delete;

  /// Adds one update; returns the factor it was scaled by (1 unless clipped).
  double add(const ArrayView& update, double weight = 1.0);
  std::int64_t dim() const noexcept;
  std::int64_t count() const;
  double total_weight() const;
  /// Writes the weighted mean (requires total_weight() > 0) or the weighted sum into out [D]
  /// (float32 or float64).
  void mean(const ArrayView& out) const;
  void sum(const ArrayView& out) const;
  void reset();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace mlforge
