// Differential-privacy kernels for federated aggregation: per-update L2 clipping (flat and
// per-layer), Gaussian noise from the engine's counter-based generator, and the adaptive clipping
// rule of Andrew et al. 2021.
//
// DP-FedAvg (McMahan et al., ICLR 2018): every client update u_k is clipped to L2 norm C,
//   clip(u_k) = u_k * min(1, C / ||u_k||),
// the clipped updates are summed and N(0, (z C)^2) noise is added to each coordinate of the sum.
// Per-layer clipping (as Opacus's "per_layer" mode) clips layer l of an update to its own norm
// C_l; the whole update then has norm <= sqrt(sum_l C_l^2).
//
// Shapes/dtypes: updates and layers are contiguous, writable float32 CPU arrays (any shape; a
// layer is taken as its flattened elements); norm outputs and per-layer bounds are float64.
// Norms accumulate in float64 over deterministic chunks, so every result is bit-identical for any
// thread count. Clipping multiplies in float64 and rounds each element to float32, so a clipped
// update's norm is C to within float32 rounding (relative 2^-24).
//
// Ownership: nothing is retained; all arrays are the caller's and are modified in place.
// Thread-safety: pure functions over caller memory (concurrent calls on distinct arrays are fine).
// Blocking: each call runs on the shared pool (mlforge/parallel.h) and returns when done.
// Errors (InvalidArgument, message "[privacy.op] ..."): wrong dtype, shape, layout or read-only
// memory; a non-finite, negative or zero bound; a NaN or infinite value in an update, named as
// updates[k] (or layers[l]) with its first bad index -- checked for every update before anything is
// modified, so an error leaves all inputs untouched.
#pragma once

#include <cstdint>
#include <vector>

#include "mlforge/api.h"
#include "mlforge/array.h"

namespace mlforge {

/// Flat clipping of K updates (one (K, D) array as K row views, or K arrays of any shape):
/// update k is scaled by min(1, clip_norm / ||u_k||). Writes the norms before clipping to
/// norms [K] float64. clip_norm must be finite and > 0.
MLFORGE_API void clip_updates(const std::vector<ArrayView>& updates, double clip_norm, const ArrayView& norms);

/// Flat clipping of ONE update given as L layer arrays: the norm is taken over all layers together
/// (sqrt(sum_l ||layer_l||^2)) and every layer is scaled by the same min(1, clip_norm / norm).
/// Returns the norm before clipping.
MLFORGE_API double clip_update_layers(const std::vector<ArrayView>& layers, double clip_norm);

/// Per-layer clipping of ONE update given as L layer arrays: layer l is scaled by
/// min(1, clip_norms[l] / ||layer_l||). clip_norms [L] float64 (finite, > 0); writes the per-layer
/// norms before clipping to norms [L] float64.
MLFORGE_API void clip_layers(const std::vector<ArrayView>& layers, const ArrayView& clip_norms,
                             const ArrayView& norms);

/// Adds Gaussian noise in place: out[i] += stddev * z_i, with z_i element i of the engine's
/// standard-normal sequence for (seed, stream = round) -- the values fill_normal(out, seed, round,
/// 0, 0.0, stddev) would write (random.h). The sum is formed in float64 and rounded once to out's
/// dtype, so for float32 out the result equals float32(float64(out[i]) + normal_i) bit for bit,
/// where normal_i is the float64 fill_normal value: round r's noise is reproducible and the same for
/// any thread count. out: contiguous, writable float32 or float64 CPU array. stddev finite, >= 0.
MLFORGE_API void add_gaussian_noise(const ArrayView& out, double stddev, std::uint64_t seed, std::uint64_t round);

/// Adaptive clipping (Andrew, Thakkar, McMahan, Ramaswamy, "Differentially Private Learning with
/// Adaptive Clipping", NeurIPS 2021, geometric update). With m clients whose update norms are
/// ||u_i|| and the current bound C:
///   b     = #{i : ||u_i|| <= C}                       (unclipped count)
///   b_bar = (b + N(0, sigma_b^2)) / m                 (noisy unclipped fraction)
///   C'    = C * exp(-eta_C * (b_bar - gamma))         (gamma: target quantile, eta_C: learning rate)
/// The count noise makes the update itself private; Andrew et al. take sigma_b = m / 20.
struct AdaptiveClipResult {
  double clip_norm;         ///< C', the bound for the next round
  double noisy_fraction;    ///< b_bar
  std::int64_t unclipped;   ///< b
};

/// The pure formula: C * exp(-eta_C * (b_bar - gamma)) with b_bar = (unclipped + count_noise) / m,
/// where m is the round's number of clients or, under Poisson sampling, its expectation q * N (so it
/// need not be an integer, and unclipped may exceed it). count_noise is the already-drawn
/// N(0, sigma_b^2) sample. Throws InvalidArgument for C <= 0, m <= 0, unclipped < 0, gamma outside
/// [0, 1], eta_C < 0, or any non-finite input.
MLFORGE_API AdaptiveClipResult adaptive_clip_update(double clip_norm, std::int64_t unclipped, double num_clients,
                                                    double target_quantile, double learning_rate, double count_noise);

/// One round of adaptive clipping from the norms of this round's updates (norms [m] float64, e.g.
/// from clip_updates): counts b, draws the count noise sigma_b * z with z element 2^64 - 4 of the
/// (seed, stream = round) normal sequence (the first element of the last Philox block, which no
/// add_gaussian_noise of a realistic size reaches, so one seed may serve both), and applies
/// adaptive_clip_update. count_stddev (sigma_b) finite and >= 0. NaN norms are an error.
MLFORGE_API AdaptiveClipResult adaptive_clip_step(const ArrayView& norms, double clip_norm, double target_quantile,
                                                  double learning_rate, double count_stddev, std::uint64_t seed,
                                                  std::uint64_t round);

/// The noise multiplier left for the update sum when sigma_b of the privacy budget goes to the
/// clipped count (Andrew et al. 2021, Theorem 1): z_delta = (z^-2 - (2 sigma_b)^-2)^(-1/2).
/// Requires z > 0 and sigma_b > z / 2 (else the count alone spends the budget): InvalidArgument.
MLFORGE_API double adaptive_noise_multiplier(double noise_multiplier, double count_stddev);

}  // namespace mlforge
