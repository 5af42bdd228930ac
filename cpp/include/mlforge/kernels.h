// Compute kernels. Each has a CPU implementation (vectorisable loops on the shared pool); those
// taking a `Stream` also have a CUDA one with the same signature, chosen by the device of the
// inputs (all on one device), run on that stream. The CPU implementation is the CUDA one's test
// reference. Value checks that need the data (targets, priorities, finiteness) run on the device
// for CUDA inputs and raise the same InvalidArgument.
//
// Thread-safety: pure functions over caller-owned memory. Blocking: CUDA variants run on the given
// stream and synchronise it before returning a host value.
#pragma once

#include <cstdint>
#include <vector>

#include "mlforge/api.h"
#include "mlforge/array.h"
#include "mlforge/device.h"

namespace mlforge {

/// Sum of all elements of a contiguous float32 or float64 array, accumulated in float64 with
/// compensation (TwoSum/Neumaier) and combined in a fixed order, so the result is the same for any
/// thread count and CPU. The CUDA version carries TwoSum compensations through its fixed reduction
/// tree: deterministic too, and equal to the CPU result to within float64 rounding. NaN and infinities propagate as in IEEE arithmetic; an empty array sums to 0.
/// Throws InvalidArgument for other dtypes or non-contiguous input, Unavailable for CUDA input
/// when CUDA is not compiled in or no GPU is usable.
MLFORGE_API double reduce_sum(const ArrayView& x, Stream stream = {});

/// STREAM "triad" a[i] = b[i] + scalar * c[i] over float64 arrays of equal length: the bandwidth
/// probe of the kernel benchmarks (24 bytes of memory traffic per element). Multi-threaded.
/// Throws InvalidArgument for other dtypes, length mismatch, non-contiguous or read-only `a`.
MLFORGE_API void stream_triad(const ArrayView& a, const ArrayView& b, const ArrayView& c, double scalar);

// ---- Aggregation kernels ----------------------------------------------------------------------
// `rows` are K client updates, each a contiguous float32 CPU array of the same length D (a (K, D)
// array is K row views; layers flattened or a list of arrays work the same). Every kernel reads
// the rows in place, accumulates in float64 and chunks the D axis deterministically. Errors:
// InvalidArgument for an empty row set, mismatched lengths, wrong dtype/layout or bad parameters.

/// out[d] = sum_k weights[k] * rows[k][d]; weights [K] float64 (finite), out [D] float32.
MLFORGE_API void weighted_sum(const std::vector<ArrayView>& rows, const ArrayView& weights, const ArrayView& out,
                              Stream stream = {});

/// What the coordinate-wise reductions do with NaN and infinity in their inputs. kPropagate: NaN
/// anywhere in a coordinate gives NaN there, infinities are values like any other (numpy's
/// semantics). kReject: InvalidArgument "[op] updates[r] contains NaN or infinite values" naming
/// the first such row (client), for aggregation where such an update is corrupt; the check rides
/// on the reduction's own pass over the inputs (a second pass runs only to name the row).
enum class NonFinite { kPropagate, kReject };

/// Coordinate-wise median (Yin et al. 2018): out[d] = median_k rows[k][d], the mean of the two
/// middle values for even K (numpy.median's definition).
MLFORGE_API void coordinate_median(const std::vector<ArrayView>& rows, const ArrayView& out, Stream stream = {},
                                   NonFinite non_finite = NonFinite::kPropagate);

/// Coordinate-wise trimmed mean (Yin et al. 2018): per coordinate drop the floor(beta * K)
/// smallest and largest values and average the rest (scipy.stats.trim_mean). 0 <= beta < 1/2.
MLFORGE_API void coordinate_trimmed_mean(const std::vector<ArrayView>& rows, double beta, const ArrayView& out,
                                         Stream stream = {}, NonFinite non_finite = NonFinite::kPropagate);

/// Squared Euclidean distances between rows, out [K, K] float64, computed on rows centred on a
/// central row (the distances are unchanged, the cancellation is not: Flower's float32 Gram on full
/// model weights loses every digit): d_ij = G_ii + G_jj - 2 G_ij, clamped >= 0. G is summed in float64
/// over tiles of 256 columns, each tile's dots taken in float32 (at most 20 roundings per dot);
/// pairs with d_ij < (G_ii + G_jj) / 64 (near-duplicate rows) are recomputed directly in float64.
/// Relative error of d_ij: typically ~1e-8 (the tiles' roundings average out), 1.5e-4 at worst.
/// A row holding NaN or infinity has NaN distances (to itself included; other rows' may be NaN too).
MLFORGE_API void pairwise_sq_distances(const std::vector<ArrayView>& rows, const ArrayView& out, Stream stream = {});

/// L2 norm of each row, out [K] float64.
MLFORGE_API void row_norms(const std::vector<ArrayView>& rows, const ArrayView& out, Stream stream = {});

/// Scales every row whose L2 norm exceeds max_norm (> 0) to norm max_norm, in place (rows must be
/// writable); writes the norms before clipping to norms [K] float64.
MLFORGE_API void clip_rows(const std::vector<ArrayView>& rows, double max_norm, const ArrayView& norms,
                           Stream stream = {});

// ---- Training kernels -------------------------------------------------------------------------

/// Fused sequence log-probabilities (forward). For logits [B, T, V] (float32, bfloat16 or float64),
/// targets [B, T] (int64) and mask [B, T] (float32, uint8 or bool):
///   seq_logps[b] = sum_t mask[b, t] * (logits[b, t, targets[b, t]] - lse[b, t])
///   lse[b, t]    = log(sum_v exp(logits[b, t, v]))            (saved for the backward pass)
/// One row of V values is streamed at a time, so the [B, T, V] log-softmax is never stored.
/// Rows with mask 0 are skipped (their target may be any value, e.g. -100 padding; lse is 0).
/// float32/bfloat16 logits are computed in float32 with float64 sums, float64 logits in float64;
/// rows are independent, so results do not depend on the thread count. Outputs (writable):
/// seq_logps [B] and lse [B, T], float64 for float64 logits and float32 otherwise.
/// Throws InvalidArgument for wrong dtypes/shapes/layout, for a target outside [0, V) where the
/// mask is set (naming b, t and the value), and for mask values that are not finite.
MLFORGE_API void sequence_logprobs(const ArrayView& logits, const ArrayView& targets, const ArrayView& mask,
                                   const ArrayView& seq_logps, const ArrayView& lse, Stream stream = {});

/// Backward of sequence_logprobs: grad_logits[b, t, v] = grad_seq[b] * mask[b, t] *
/// ([v == targets[b, t]] - exp(logits[b, t, v] - lse[b, t])). grad_logits has the logits' shape
/// and dtype; grad_seq [B] and lse have the forward's output dtype. Same errors as the forward.
MLFORGE_API void sequence_logprobs_backward(const ArrayView& logits, const ArrayView& targets,
                                            const ArrayView& mask, const ArrayView& lse,
                                            const ArrayView& grad_seq, const ArrayView& grad_logits,
                                            Stream stream = {});

/// The DPO loss family on per-sequence log-probabilities, with
///   x = (policy_chosen - policy_rejected) - (ref_chosen - ref_rejected):
///   kSigmoid (Rafailov et al. 2023; cDPO with label_smoothing eps):
///              -(1 - eps) log sigma(beta x) - eps log sigma(-beta x)
///   kIpo     (Azar et al. 2023; pass length-normalised log-probs): (x - 1 / (2 beta))^2
///   kHinge   (SLiC, Zhao et al. 2023): max(0, 1 - beta x)
///   kRobust  (rDPO, Chowdhury et al. 2024):
///              (-(1 - eps) log sigma(beta x) + eps log sigma(-beta x)) / (1 - 2 eps)
/// At x = 0: sigmoid ln 2 (eps = 0), IPO 1 / (4 beta^2), hinge 1.
enum class DpoLoss : int { kSigmoid = 0, kIpo = 1, kHinge = 2, kRobust = 3 };

/// Writes losses[i] and dloss_dx[i] = d losses[i] / d x[i] (the backward needs only that: the four
/// inputs get +dx, -dx, -dx, +dx). All arrays are [B] float64 or all float32 (computed in
/// float64). Throws InvalidArgument for beta <= 0 or non-finite, label_smoothing outside [0, 1]
/// (outside [0, 0.5) for kRobust), shape/dtype mismatches, and non-finite inputs (naming the index).
MLFORGE_API void dpo_loss(const ArrayView& policy_chosen, const ArrayView& policy_rejected,
                          const ArrayView& ref_chosen, const ArrayView& ref_rejected, double beta, DpoLoss type,
                          double label_smoothing, const ArrayView& losses, const ArrayView& dloss_dx,
                          Stream stream = {});

/// Generalised advantage estimation (Schulman et al. 2016) by a reverse scan per row:
///   delta_t = r_t + gamma * V_{t+1} * (1 - done_t) - V_t
///   A_t     = delta_t + gamma * lambda * (1 - done_t) * A_{t+1},   returns_t = A_t + V_t
/// rewards [B, T] float32, values [B, T + 1] float32 (the last column bootstraps), dones [B, T]
/// (bool, uint8 or float32; done_t = 1 ends the episode after step t). Outputs advantages and
/// returns [B, T] float32, accumulated in float64. Rows run in parallel; deterministic.
MLFORGE_API void gae(const ArrayView& rewards, const ArrayView& values, const ArrayView& dones, double gamma,
                     double lambda, const ArrayView& advantages, const ArrayView& returns, Stream stream = {});

}  // namespace mlforge

// ---- Optimiser, hashing and sampling kernels ----------------------------------------------------

namespace mlforge {

/// One fused Adam (decoupled_weight_decay = false) or AdamW (true) step, in place, exactly as
/// torch.optim.Adam/AdamW define it (Kingma & Ba 2015; Loshchilov & Hutter 2019), in float32:
///   Adam:  g += weight_decay * p          AdamW: p *= 1 - lr * weight_decay
///   m = lerp(m, g, 1 - beta1);  v = beta2 v + (1 - beta2) g^2
///   p -= lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps)
/// param, grad, exp_avg, exp_avg_sq: float32, one shape, contiguous (param and state writable).
/// step >= 1 counts this step. Throws InvalidArgument for bad shapes or hyper-parameters.
MLFORGE_API void adam_step(const ArrayView& param, const ArrayView& grad, const ArrayView& exp_avg,
                           const ArrayView& exp_avg_sq, std::int64_t step, double lr, double beta1, double beta2,
                           double eps, double weight_decay, bool decoupled_weight_decay, Stream stream = {});

/// Modulus of the MinHash permutations: the Mersenne prime 2^61 - 1.
inline constexpr std::uint64_t kMinhashPrime = (std::uint64_t{1} << 61) - 1;

/// The num_perm permutations h_i(x) = (a_i * (x mod p) + b_i) mod p, p = 2^61 - 1, drawn from
/// Philox with key (seed, stream 0x4d48 "MH"): a_i = 1 + bits(2i) mod (p - 1), b_i = bits(2i + 1)
/// mod p. Bijective on [0, p) and exact (128-bit products), so no overflow ever biases them.
/// Writes a [num_perm] and b [num_perm] (uint64). This is MinHash scheme version 1.
MLFORGE_API void minhash_permutations(std::uint64_t seed, const ArrayView& a, const ArrayView& b);

/// MinHash signatures over ragged documents: document j holds token_hashes[offsets[j] ..
/// offsets[j + 1]) (uint64 shingle hashes), and signatures[j, i] = min over its tokens of h_i.
/// An empty document gets UINT64_MAX everywhere. offsets [n + 1] int64 (0 first, N last,
/// non-decreasing); signatures [n, num_perm] uint64. Documents run in parallel.
MLFORGE_API void minhash(const ArrayView& token_hashes, const ArrayView& offsets, std::uint64_t seed,
                         const ArrayView& signatures, Stream stream = {});

/// 64-bit SimHash (Charikar 2002) of ragged documents: bit b of fingerprints[j] is 1 when more of
/// the document's token hashes have bit b set than clear (ties give 0). Same layout as minhash.
MLFORGE_API void simhash(const ArrayView& token_hashes, const ArrayView& offsets, const ArrayView& fingerprints,
                         Stream stream = {});

/// Sum tree for prioritized sampling: tree [2 * capacity] float64, capacity a power of two,
/// leaves at [capacity, 2 * capacity), node i = node 2i + node 2i+1, the total at node 1.
/// Sets leaves indices[j] to priorities[j] (the last of duplicates wins) and recomputes every
/// affected ancestor from its children (no drift). Everything is validated before anything is
/// written: an index outside [0, capacity) or a NaN, infinite or negative priority throws
/// InvalidArgument naming it and leaves the tree untouched.
MLFORGE_API void sumtree_update(const ArrayView& tree, const ArrayView& indices, const ArrayView& priorities,
                                Stream stream = {});

/// For each value in [0, total) finds the leaf whose prefix interval holds it (the index i with
/// prefix(i) <= value < prefix(i + 1)); never returns a zero-priority leaf. values [n] float64,
/// out_indices [n] int64. Throws InvalidArgument for values outside [0, total) or an empty tree.
MLFORGE_API void sumtree_search(const ArrayView& tree, const ArrayView& values, const ArrayView& out_indices,
                                Stream stream = {});

}  // namespace mlforge
