// The CUDA backend for builds without CUDA: reports no devices and refuses device work.
#include <string>

#include "backend/cuda_entry.h"
#include "mlforge/error.h"

namespace mlforge::detail::cuda {
namespace {

[[noreturn]] void refuse(const char* op) {
  throw Unavailable(std::string("[") + op +
                    "] the inputs are CUDA arrays but MLForge was built without CUDA; rebuild with REACTOR_CUDA=ON");
}

}  // namespace

bool compiled() noexcept { return false; }

int device_count() noexcept { return 0; }

void stream_wait(Stream, Stream) {
  throw Unavailable("[cuda.stream_wait] a CUDA stream was handed over but MLForge was built without CUDA");
}

void copy_to_host(void*, const ArrayView&, Stream) { refuse("cuda.copy_to_host"); }
double reduce_sum(const ArrayView&, Stream) { refuse("kernels.reduce_sum"); }
void coordinate_median(const std::vector<ArrayView>&, const ArrayView&, Stream) { refuse("kernels.coordinate_median"); }
void coordinate_trimmed_mean(const std::vector<ArrayView>&, double, const ArrayView&, Stream) {
  refuse("kernels.coordinate_trimmed_mean");
}
void pairwise_sq_distances(const std::vector<ArrayView>&, const ArrayView&, Stream) {
  refuse("kernels.pairwise_sq_distances");
}
void row_norms(const std::vector<ArrayView>&, const ArrayView&, Stream) { refuse("kernels.row_norms"); }
void clip_rows(const std::vector<ArrayView>&, double, const ArrayView&, Stream) { refuse("kernels.clip_rows"); }
void minhash(const ArrayView&, const ArrayView&, const std::vector<std::uint64_t>&, const std::vector<std::uint64_t>&,
             const ArrayView&, Stream) {
  refuse("kernels.minhash");
}
void simhash(const ArrayView&, const ArrayView&, const ArrayView&, Stream) { refuse("kernels.simhash"); }
void fill_uniform(const ArrayView&, std::uint64_t, std::uint64_t, std::uint64_t, double, double, Stream) {
  refuse("random.uniform");
}
void fill_normal(const ArrayView&, std::uint64_t, std::uint64_t, std::uint64_t, double, double, Stream) {
  refuse("random.normal");
}
void weighted_sum(const std::vector<ArrayView>&, const ArrayView&, const ArrayView&, Stream) {
  refuse("kernels.weighted_sum");
}
void sequence_logprobs(const ArrayView&, const ArrayView&, const ArrayView&, const ArrayView&, const ArrayView&,
                       Stream) {
  refuse("kernels.sequence_logprobs");
}
void sequence_logprobs_backward(const ArrayView&, const ArrayView&, const ArrayView&, const ArrayView&,
                                const ArrayView&, const ArrayView&, Stream) {
  refuse("kernels.sequence_logprobs_backward");
}
void dpo_loss(const ArrayView&, const ArrayView&, const ArrayView&, const ArrayView&, double, int, double,
              const ArrayView&, const ArrayView&, Stream) {
  refuse("kernels.dpo_loss");
}
void gae(const ArrayView&, const ArrayView&, const ArrayView&, double, double, const ArrayView&, const ArrayView&,
         Stream) {
  refuse("kernels.gae");
}
void adam_step(const ArrayView&, const ArrayView&, const ArrayView&, const ArrayView&, std::int64_t, double, double,
               double, double, double, bool, Stream) {
  refuse("kernels.adam_step");
}
void sumtree_update(const ArrayView&, const ArrayView&, const ArrayView&, Stream) { refuse("kernels.sumtree_update"); }
void sumtree_search(const ArrayView&, const ArrayView&, const ArrayView&, Stream) { refuse("kernels.sumtree_search"); }

}  // namespace mlforge::detail::cuda
