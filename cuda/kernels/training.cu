// CUDA twins of the training kernels: fused sequence log-probs (forward/backward), DPO losses,
// GAE and the fused Adam/AdamW step. The CPU implementations in cpp/src/kernels are the references.
#include <cmath>
#include <cstdint>
#include <string>

#include "backend/cuda_entry.h"
#include "device/reduce_block.cuh"
#include "runtime/cuda_check.h"

namespace mlforge::detail::cuda {
namespace {

constexpr int kRowBlock = 256;

__device__ inline float load(const float* p, std::int64_t i) { return p[i]; }
__device__ inline float load(const unsigned short* p, std::int64_t i) { return device::bf16_to_float(p[i]); }
__device__ inline double load(const double* p, std::int64_t i) { return p[i]; }
__device__ inline void store(float* p, std::int64_t i, double v) { p[i] = static_cast<float>(v); }
__device__ inline void store(double* p, std::int64_t i, double v) { p[i] = v; }
__device__ inline void store(unsigned short* p, std::int64_t i, double v) { p[i] = device::float_to_bf16(static_cast<float>(v)); }

// mask dtype: 0 float32, 1 uint8/bool.
__device__ inline double mask_at(const void* mask, int kind, std::int64_t i) {
  return kind == 0 ? static_cast<double>(static_cast<const float*>(mask)[i])
                   : (static_cast<const unsigned char*>(mask)[i] != 0 ? 1.0 : 0.0);
}

// Flags the first row whose mask is not finite, or whose target lies outside [0, vocab) where
// the mask is set; runs before anything is written (forward and backward alike).
__global__ void check_rows(const std::int64_t* targets, const void* mask, int mask_kind, std::int64_t rows,
                           std::int64_t vocab, long long* bad_row) {
  for (std::int64_t row = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; row < rows;
       row += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const double m = mask_at(mask, mask_kind, row);
    if (!isfinite(m) || (m != 0.0 && (targets[row] < 0 || targets[row] >= vocab))) {
      atomicMin(bad_row, static_cast<long long>(row));
    }
  }
}

// One block per row (grid-strided over rows): max and sum of exponentials in float64.
template <class T>
__global__ void logprob_rows(const T* logits, const std::int64_t* targets, const void* mask, int mask_kind,
                             std::int64_t rows, std::int64_t vocab, double* token_logps, double* lse_out) {
  __shared__ double scratch[kRowBlock];
  __shared__ int any_nan;
  for (std::int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    if (mask_at(mask, mask_kind, row) == 0.0) {
      if (threadIdx.x == 0) token_logps[row] = lse_out[row] = 0.0;
      continue;  // uniform across the block
    }
    const T* x = logits + row * vocab;
    double peak = -INFINITY;
    bool nan = false;
    for (std::int64_t v = threadIdx.x; v < vocab; v += blockDim.x) {
      const double value = static_cast<double>(load(x, v));
      nan = nan || isnan(value);
      peak = fmax(peak, value);
    }
    if (threadIdx.x == 0) any_nan = 0;
    __syncthreads();
    if (nan) any_nan = 1;  // fmax drops NaN, so NaN travels in its own flag
    peak = device::block_max(peak, scratch);
    if (any_nan) peak = NAN;
    double total = 0.0;
    for (std::int64_t v = threadIdx.x; v < vocab; v += blockDim.x) total += exp(static_cast<double>(load(x, v)) - peak);
    total = device::block_sum_double(total, scratch);
    if (threadIdx.x == 0) {
      const double lse = isinf(peak) || isnan(peak) ? peak : peak + log(total);
      lse_out[row] = lse;
      token_logps[row] = static_cast<double>(load(x, targets[row])) - lse;
    }
  }
}

template <class S>
__global__ void sum_over_steps(const double* token_logps, const double* row_lse, const void* mask, int mask_kind,
                               std::int64_t batch, std::int64_t steps, S* seq_out, S* lse_out) {
  for (std::int64_t b = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; b < batch;
       b += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    double total = 0.0;
    for (std::int64_t t = 0; t < steps; ++t) {  // fixed order, as on the CPU
      const std::int64_t i = b * steps + t;
      const double m = mask_at(mask, mask_kind, i);
      if (m != 0.0) total += m * token_logps[i];
      lse_out[i] = static_cast<S>(row_lse[i]);
    }
    seq_out[b] = static_cast<S>(total);
  }
}

template <class T, class S>
__global__ void logprob_gradient(const T* logits, const std::int64_t* targets, const void* mask, int mask_kind,
                                 const S* lse, const S* grad_seq, std::int64_t rows, std::int64_t steps,
                                 std::int64_t vocab, T* grad) {
  for (std::int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const double scale = static_cast<double>(grad_seq[row / steps]) * mask_at(mask, mask_kind, row);
    const T* x = logits + row * vocab;
    T* g = grad + row * vocab;
    const double row_lse = lse[row];
    for (std::int64_t v = threadIdx.x; v < vocab; v += blockDim.x) {
      store(g, v, scale == 0.0 ? 0.0 : -scale * exp(static_cast<double>(load(x, v)) - row_lse));
    }
    __syncthreads();
    if (threadIdx.x == 0 && scale != 0.0) {
      const std::int64_t target = targets[row];
      store(g, target, scale * (1.0 - exp(static_cast<double>(load(x, target)) - row_lse)));
    }
    __syncthreads();
  }
}

constexpr int kMaxRowBlocks = 1 << 20;

// Runs check_rows and throws the CPU's InvalidArgument for the first bad row.
void require_valid_rows(const char* op, const ArrayView& targets, const ArrayView& mask, std::int64_t steps,
                        std::int64_t vocab, cudaStream_t s) {
  const std::int64_t rows = targets.numel();
  if (rows == 0) return;
  const ErrorSlot bad(s);
  const auto* ids = static_cast<const std::int64_t*>(targets.data());
  check_rows<<<grid_for(rows, 256, 1 << 30), 256, 0, s>>>(ids, mask.data(), mask.dtype() == DType::kFloat32 ? 0 : 1,
                                                           rows, vocab, bad.device());
  MLFORGE_CUDA_CHECK(cudaGetLastError());
  const long long row = bad.read();
  if (row == ErrorSlot::kNone) return;
  std::int64_t value = 0;
  MLFORGE_CUDA_CHECK(cudaMemcpy(&value, ids + row, sizeof(value), cudaMemcpyDeviceToHost));
  throw InvalidArgument(std::string("[") + op + "] targets[" + std::to_string(row / steps) + ", " +
                        std::to_string(row % steps) + "] = " + std::to_string(value) + " is outside the vocabulary [0, " +
                        std::to_string(vocab) + ") at a position the mask keeps, or mask[" + std::to_string(row / steps) +
                        ", " + std::to_string(row % steps) + "] is not finite");
}

int mask_kind_of(const ArrayView& mask) { return mask.dtype() == DType::kFloat32 ? 0 : 1; }

template <class S>
__global__ void dpo_check(const S* pc, const S* pr, const S* rc, const S* rr, std::int64_t n, long long* bad) {
  const std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (i < n && !(isfinite(static_cast<double>(pc[i])) && isfinite(static_cast<double>(pr[i])) &&
                 isfinite(static_cast<double>(rc[i])) && isfinite(static_cast<double>(rr[i])))) {
    atomicMin(bad, static_cast<long long>(i));
  }
}

template <class S>
__global__ void dpo_kernel(const S* pc, const S* pr, const S* rc, const S* rr, std::int64_t n, double beta, int type,
                           double eps, S* losses, S* slopes) {
  const std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const double x = (static_cast<double>(pc[i]) - pr[i]) - (static_cast<double>(rc[i]) - rr[i]);
  const double z = beta * x;
  const double e = exp(-fabs(z));
  const double softplus = log1p(e);
  const double large = 1.0 / (1.0 + e), small = e / (1.0 + e);
  const double log_pos = z >= 0 ? -softplus : z - softplus;
  const double log_neg = z >= 0 ? -z - softplus : -softplus;
  const double pos = z >= 0 ? large : small, neg = z >= 0 ? small : large;
  double loss = 0.0, slope = 0.0;
  switch (type) {
    case 0: loss = -(1 - eps) * log_pos - eps * log_neg; slope = beta * (-(1 - eps) * neg + eps * pos); break;
    case 1: { const double gap = x - 1.0 / (2.0 * beta); loss = gap * gap; slope = 2.0 * gap; break; }
    case 2: loss = fmax(0.0, 1.0 - z); slope = 1.0 - z > 0.0 ? -beta : 0.0; break;
    default:
      loss = (-(1 - eps) * log_pos + eps * log_neg) / (1 - 2 * eps);
      slope = beta * (-(1 - eps) * neg - eps * pos) / (1 - 2 * eps);
  }
  losses[i] = static_cast<S>(loss);
  slopes[i] = static_cast<S>(slope);
}

__global__ void gae_kernel(const float* rewards, const float* values, const void* dones, int done_kind,
                           std::int64_t batch, std::int64_t steps, double gamma, double lambda, float* adv, float* ret) {
  for (std::int64_t b = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; b < batch;
       b += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    double running = 0.0;
    for (std::int64_t t = steps - 1; t >= 0; --t) {
      const double not_done = 1.0 - mask_at(dones, done_kind, b * steps + t);
      const double delta = rewards[b * steps + t] + gamma * values[b * (steps + 1) + t + 1] * not_done -
                           values[b * (steps + 1) + t];
      running = delta + gamma * lambda * not_done * running;
      adv[b * steps + t] = static_cast<float>(running);
      ret[b * steps + t] = static_cast<float>(running + values[b * (steps + 1) + t]);
    }
  }
}

__global__ void adam_kernel(float* p, const float* g_in, float* m, float* v, std::int64_t n, float lr, float beta1,
                            float beta2, float eps, float weight_decay, float step_size, float bias2_sqrt,
                            bool decoupled) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    float g = g_in[i];
    if (decoupled) {
      p[i] *= 1.0f - lr * weight_decay;
    } else {
      g += weight_decay * p[i];
    }
    m[i] += (1.0f - beta1) * (g - m[i]);
    v[i] = beta2 * v[i] + (1.0f - beta2) * g * g;
    p[i] -= step_size * (m[i] / (sqrtf(v[i]) / bias2_sqrt + eps));
  }
}

}  // namespace

void sequence_logprobs(const ArrayView& logits, const ArrayView& targets, const ArrayView& mask,
                       const ArrayView& seq_logps, const ArrayView& lse, Stream stream) {
  const DeviceGuard guard(device_index(logits));
  const cudaStream_t s = to_cuda(stream);
  const std::int64_t batch = logits.shape(0), steps = logits.shape(1), vocab = logits.shape(2);
  const std::int64_t rows = batch * steps;
  if (batch == 0) return;
  require_valid_rows("kernels.sequence_logprobs", targets, mask, steps, vocab, s);
  DeviceBuffer token(sizeof(double) * rows, s), row_lse(sizeof(double) * rows, s);
  const auto* ids = static_cast<const std::int64_t*>(targets.data());
  const int kind = mask_kind_of(mask);
  const int blocks = grid_for(rows, 1, kMaxRowBlocks);
  if (rows > 0) {
    switch (logits.dtype()) {
      case DType::kBFloat16:
        logprob_rows<<<blocks, kRowBlock, 0, s>>>(static_cast<const unsigned short*>(logits.data()), ids, mask.data(),
                                                  kind, rows, vocab, token.as<double>(), row_lse.as<double>());
        break;
      case DType::kFloat64:
        logprob_rows<<<blocks, kRowBlock, 0, s>>>(static_cast<const double*>(logits.data()), ids, mask.data(), kind,
                                                  rows, vocab, token.as<double>(), row_lse.as<double>());
        break;
      default:
        logprob_rows<<<blocks, kRowBlock, 0, s>>>(static_cast<const float*>(logits.data()), ids, mask.data(), kind,
                                                  rows, vocab, token.as<double>(), row_lse.as<double>());
    }
    MLFORGE_CUDA_CHECK(cudaGetLastError());
  }
  const int grid = grid_for(batch, 128, 1 << 30);
  if (seq_logps.dtype() == DType::kFloat64) {
    sum_over_steps<<<grid, 128, 0, s>>>(token.as<double>(), row_lse.as<double>(), mask.data(), kind, batch, steps,
                                        static_cast<double*>(seq_logps.data()), static_cast<double*>(lse.data()));
  } else {
    sum_over_steps<<<grid, 128, 0, s>>>(token.as<double>(), row_lse.as<double>(), mask.data(), kind, batch, steps,
                                        static_cast<float*>(seq_logps.data()), static_cast<float*>(lse.data()));
  }
  MLFORGE_CUDA_CHECK(cudaGetLastError());
}

void sequence_logprobs_backward(const ArrayView& logits, const ArrayView& targets, const ArrayView& mask,
                                const ArrayView& lse, const ArrayView& grad_seq, const ArrayView& grad_logits,
                                Stream stream) {
  const DeviceGuard guard(device_index(logits));
  const cudaStream_t s = to_cuda(stream);
  const std::int64_t steps = logits.shape(1), vocab = logits.shape(2), rows = logits.shape(0) * steps;
  if (rows == 0) return;
  require_valid_rows("kernels.sequence_logprobs_backward", targets, mask, steps, vocab, s);
  const auto* ids = static_cast<const std::int64_t*>(targets.data());
  const int kind = mask_kind_of(mask);
  const int blocks = grid_for(rows, 1, kMaxRowBlocks);
  switch (logits.dtype()) {
    case DType::kBFloat16:
      logprob_gradient<<<blocks, kRowBlock, 0, s>>>(static_cast<const unsigned short*>(logits.data()), ids, mask.data(),
                                                    kind, static_cast<const float*>(lse.data()),
                                                    static_cast<const float*>(grad_seq.data()), rows, steps, vocab,
                                                    static_cast<unsigned short*>(grad_logits.data()));
      break;
    case DType::kFloat64:
      logprob_gradient<<<blocks, kRowBlock, 0, s>>>(static_cast<const double*>(logits.data()), ids, mask.data(), kind,
                                                    static_cast<const double*>(lse.data()),
                                                    static_cast<const double*>(grad_seq.data()), rows, steps, vocab,
                                                    static_cast<double*>(grad_logits.data()));
      break;
    default:
      logprob_gradient<<<blocks, kRowBlock, 0, s>>>(static_cast<const float*>(logits.data()), ids, mask.data(), kind,
                                                    static_cast<const float*>(lse.data()),
                                                    static_cast<const float*>(grad_seq.data()), rows, steps, vocab,
                                                    static_cast<float*>(grad_logits.data()));
  }
  MLFORGE_CUDA_CHECK(cudaGetLastError());
}

void dpo_loss(const ArrayView& policy_chosen, const ArrayView& policy_rejected, const ArrayView& ref_chosen,
              const ArrayView& ref_rejected, double beta, int type, double label_smoothing, const ArrayView& losses,
              const ArrayView& dloss_dx, Stream stream) {
  const DeviceGuard guard(device_index(policy_chosen));
  const cudaStream_t s = to_cuda(stream);
  const std::int64_t n = policy_chosen.shape(0);
  if (n == 0) return;
  const int grid = grid_for(n, 256, 1 << 30);
  const bool f64 = policy_chosen.dtype() == DType::kFloat64;
  // Validate the whole batch first: a bad batch writes nothing, as on the CPU.
  const ErrorSlot bad(s);
  if (f64) {
    dpo_check<<<grid, 256, 0, s>>>(static_cast<const double*>(policy_chosen.data()),
                                   static_cast<const double*>(policy_rejected.data()),
                                   static_cast<const double*>(ref_chosen.data()),
                                   static_cast<const double*>(ref_rejected.data()), n, bad.device());
  } else {
    dpo_check<<<grid, 256, 0, s>>>(static_cast<const float*>(policy_chosen.data()),
                                   static_cast<const float*>(policy_rejected.data()),
                                   static_cast<const float*>(ref_chosen.data()),
                                   static_cast<const float*>(ref_rejected.data()), n, bad.device());
  }
  MLFORGE_CUDA_CHECK(cudaGetLastError());
  const long long index = bad.read();
  if (index != ErrorSlot::kNone) {
    throw InvalidArgument("[kernels.dpo_loss] log-probabilities of pair " + std::to_string(index) + " are not finite");
  }
  if (f64) {
    dpo_kernel<<<grid, 256, 0, s>>>(static_cast<const double*>(policy_chosen.data()),
                                    static_cast<const double*>(policy_rejected.data()),
                                    static_cast<const double*>(ref_chosen.data()),
                                    static_cast<const double*>(ref_rejected.data()), n, beta, type, label_smoothing,
                                    static_cast<double*>(losses.data()), static_cast<double*>(dloss_dx.data()));
  } else {
    dpo_kernel<<<grid, 256, 0, s>>>(static_cast<const float*>(policy_chosen.data()),
                                    static_cast<const float*>(policy_rejected.data()),
                                    static_cast<const float*>(ref_chosen.data()),
                                    static_cast<const float*>(ref_rejected.data()), n, beta, type, label_smoothing,
                                    static_cast<float*>(losses.data()), static_cast<float*>(dloss_dx.data()));
  }
  MLFORGE_CUDA_CHECK(cudaGetLastError());
}

void gae(const ArrayView& rewards, const ArrayView& values, const ArrayView& dones, double gamma, double lambda,
         const ArrayView& advantages, const ArrayView& returns, Stream stream) {
  const DeviceGuard guard(device_index(rewards));
  const std::int64_t batch = rewards.shape(0), steps = rewards.shape(1);
  if (batch == 0 || steps == 0) return;
  const int done_kind = dones.dtype() == DType::kFloat32 ? 0 : 1;
  gae_kernel<<<grid_for(batch, 64), 64, 0, to_cuda(stream)>>>(
      static_cast<const float*>(rewards.data()), static_cast<const float*>(values.data()), dones.data(), done_kind,
      batch, steps, gamma, lambda, static_cast<float*>(advantages.data()), static_cast<float*>(returns.data()));
  MLFORGE_CUDA_CHECK(cudaGetLastError());
}

void adam_step(const ArrayView& param, const ArrayView& grad, const ArrayView& exp_avg, const ArrayView& exp_avg_sq,
               std::int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay,
               bool decoupled_weight_decay, Stream stream) {
  const DeviceGuard guard(device_index(param));
  const std::int64_t n = param.numel();
  if (n == 0) return;
  const double bias1 = 1.0 - std::pow(beta1, static_cast<double>(step));
  const double bias2 = 1.0 - std::pow(beta2, static_cast<double>(step));
  adam_kernel<<<grid_for(n, 256), 256, 0, to_cuda(stream)>>>(
      static_cast<float*>(param.data()), static_cast<const float*>(grad.data()), static_cast<float*>(exp_avg.data()),
      static_cast<float*>(exp_avg_sq.data()), n, static_cast<float>(lr), static_cast<float>(beta1),
      static_cast<float>(beta2), static_cast<float>(eps), static_cast<float>(weight_decay),
      static_cast<float>(lr / bias1), static_cast<float>(std::sqrt(bias2)), decoupled_weight_decay);
  MLFORGE_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mlforge::detail::cuda
