// Internal entry points into the CUDA backend. Implemented by cuda/ when MLFORGE_ENABLE_CUDA=ON and
// by backend/no_cuda.cpp otherwise (which throws Unavailable), so public headers and callers never
// need #ifdefs. The public functions validate shapes, dtypes and layouts before calling these;
// checks that need the data run on the device here.
#pragma once

#include <cstdint>
#include <vector>

#include "mlforge/array.h"
#include "mlforge/device.h"

namespace mlforge::detail::cuda {

// True when CUDA kernels were compiled into this library.
bool compiled() noexcept;
// Number of usable devices; any runtime error (no driver, old driver, no GPU) counts as zero.
int device_count() noexcept;
// See mlforge::cuda_stream_wait.
void stream_wait(Stream consumer, Stream producer);

// Copies a whole contiguous device array to host memory (for small validations on the host).
void copy_to_host(void* destination, const ArrayView& source, Stream stream);

double reduce_sum(const ArrayView& x, Stream stream);
void coordinate_median(const std::vector<ArrayView>& rows, const ArrayView& out, Stream stream);
void coordinate_trimmed_mean(const std::vector<ArrayView>& rows, double beta, const ArrayView& out, Stream stream);
void pairwise_sq_distances(const std::vector<ArrayView>& rows, const ArrayView& out, Stream stream);
void row_norms(const std::vector<ArrayView>& rows, const ArrayView& out, Stream stream);
void clip_rows(const std::vector<ArrayView>& rows, double max_norm, const ArrayView& norms, Stream stream);
void minhash(const ArrayView& token_hashes, const ArrayView& offsets, const std::vector<std::uint64_t>& a,
             const std::vector<std::uint64_t>& b, const ArrayView& signatures, Stream stream);
void simhash(const ArrayView& token_hashes, const ArrayView& offsets, const ArrayView& fingerprints, Stream stream);
void fill_uniform(const ArrayView& out, std::uint64_t seed, std::uint64_t stream_id, std::uint64_t offset, double low,
                  double high, Stream stream);
void fill_normal(const ArrayView& out, std::uint64_t seed, std::uint64_t stream_id, std::uint64_t offset, double mean,
                 double std, Stream stream);
void weighted_sum(const std::vector<ArrayView>& rows, const ArrayView& weights, const ArrayView& out, Stream stream);
void sequence_logprobs(const ArrayView& logits, const ArrayView& targets, const ArrayView& mask,
                       const ArrayView& seq_logps, const ArrayView& lse, Stream stream);
void sequence_logprobs_backward(const ArrayView& logits, const ArrayView& targets, const ArrayView& mask,
                                const ArrayView& lse, const ArrayView& grad_seq, const ArrayView& grad_logits,
                                Stream stream);
void dpo_loss(const ArrayView& policy_chosen, const ArrayView& policy_rejected, const ArrayView& ref_chosen,
              const ArrayView& ref_rejected, double beta, int type, double label_smoothing, const ArrayView& losses,
              const ArrayView& dloss_dx, Stream stream);
void gae(const ArrayView& rewards, const ArrayView& values, const ArrayView& dones, double gamma, double lambda,
         const ArrayView& advantages, const ArrayView& returns, Stream stream);
void adam_step(const ArrayView& param, const ArrayView& grad, const ArrayView& exp_avg, const ArrayView& exp_avg_sq,
               std::int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay,
               bool decoupled_weight_decay, Stream stream);
void sumtree_update(const ArrayView& tree, const ArrayView& indices, const ArrayView& priorities, Stream stream);
void sumtree_search(const ArrayView& tree, const ArrayView& values, const ArrayView& out_indices, Stream stream);

}  // namespace mlforge::detail::cuda
