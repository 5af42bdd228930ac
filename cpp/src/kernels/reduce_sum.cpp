#include <cmath>

#include "backend/cuda_entry.h"
#include "core/simd.h"
#include "mlforge/error.h"
#include "mlforge/kernels.h"
#include "mlforge/parallel.h"

namespace mlforge {
namespace {

// Large enough that a chunk amortises scheduling, small enough to balance 2..64 threads.
constexpr std::int64_t kSumGrain = 1 << 15;

// Neumaier's improved Kahan summation: the running compensation captures the low-order bits lost
// in each addition, so float64 inputs with large cancellations still sum accurately.
struct CompensatedSum {
  double sum = 0.0;
  double compensation = 0.0;

  void add(double value) {
    const double t = sum + value;
    // Once the sum is infinite or NaN the compensation is meaningless (inf - inf = NaN); keeping
    // it finite leaves IEEE semantics to the plain sum.
    if (std::isfinite(t)) {
      compensation += std::fabs(sum) >= std::fabs(value) ? (sum - t) + value : (value - t) + sum;
    }
    sum = t;
  }
  double total() const { return sum + compensation; }
};

// One chunk is summed in kLanes independent lanes (element i goes to lane i % kLanes): the lanes
// have no dependency on each other, so the compiler keeps them in SIMD registers, and the result
// depends only on the chunk, never on the ISA chosen at run time. Lanes are folded in order.
constexpr int kLanes = 16;
constexpr std::int64_t kBlock = 1024;  // elements per lane-block; a multiple of kLanes

// float64 input: compensated per lane with Knuth's branch-free TwoSum (the exact rounding error of
// each addition, without the compare that blocks vectorisation), so large cancellations
// (1e16 + 1 + ... - 1e16) still come out exact.
MLFORGE_ALWAYS_INLINE CompensatedSum sum_chunk_compensated(const double* data, std::int64_t lo, std::int64_t hi) {
  CompensatedSum chunk;
  std::int64_t i = lo;
  for (; i + kBlock <= hi; i += kBlock) {
    double sums[kLanes] = {};
    double compensations[kLanes] = {};
    for (std::int64_t j = 0; j < kBlock; j += kLanes) {
      for (int lane = 0; lane < kLanes; ++lane) {
        const double value = data[i + j + lane];
        const double t = sums[lane] + value;
        const double value_part = t - sums[lane];
        compensations[lane] += (sums[lane] - (t - value_part)) + (value - value_part);
        sums[lane] = t;
      }
    }
    for (int lane = 0; lane < kLanes; ++lane) {
      chunk.add(sums[lane]);
      // A lane that overflowed or met a NaN has a meaningless compensation (inf - inf = NaN).
      if (std::isfinite(sums[lane])) chunk.add(compensations[lane]);
    }
  }
  for (; i < hi; ++i) chunk.add(data[i]);
  return chunk;
}

// float32 input: every float32 is exact in float64, and a lane adds only kBlock / kLanes of them
// before its block total goes into the compensated sum, so plain float64 lanes lose at most a
// few float64 ulps per block — far below float32 resolution — at the speed of a plain loop.
MLFORGE_ALWAYS_INLINE CompensatedSum sum_chunk_blocked(const float* data, std::int64_t lo, std::int64_t hi) {
  CompensatedSum chunk;
  std::int64_t i = lo;
  for (; i + kBlock <= hi; i += kBlock) {
    double lanes[kLanes] = {};
    for (std::int64_t j = 0; j < kBlock; j += kLanes)
      for (int lane = 0; lane < kLanes; ++lane) lanes[lane] += static_cast<double>(data[i + j + lane]);
    for (int lane = 0; lane < kLanes; ++lane) chunk.add(lanes[lane]);
  }
  for (; i < hi; ++i) chunk.add(static_cast<double>(data[i]));
  return chunk;
}

MLFORGE_TARGET_CLONES CompensatedSum sum_chunk(const double* data, std::int64_t lo, std::int64_t hi) {
  return sum_chunk_compensated(data, lo, hi);
}

MLFORGE_TARGET_CLONES CompensatedSum sum_chunk(const float* data, std::int64_t lo, std::int64_t hi) {
  return sum_chunk_blocked(data, lo, hi);
}

template <class T>
double sum_cpu(const T* data, std::int64_t n) {
  const CompensatedSum total = parallel_reduce(
      std::int64_t{0}, n, kSumGrain, CompensatedSum{},
      [data](std::int64_t lo, std::int64_t hi) { return sum_chunk(data, lo, hi); },
      [](CompensatedSum acc, const CompensatedSum& part) {
        acc.add(part.sum);
        acc.add(part.compensation);
        return acc;
      });
  return total.total();
}

}  // namespace

double reduce_sum(const ArrayView& x, Stream stream) {
  constexpr const char* op = "kernels.reduce_sum";
  MLFORGE_CHECK(x.dtype() == DType::kFloat32 || x.dtype() == DType::kFloat64, InvalidArgument, "[", op,
                "] x: expected dtype float32 or float64, got ", x.describe());
  x.require_contiguous(op, "x");
  if (x.device().is_cuda()) return detail::cuda::reduce_sum(x, stream);
  if (x.dtype() == DType::kFloat32) return sum_cpu(static_cast<const float*>(x.data()), x.numel());
  return sum_cpu(static_cast<const double*>(x.data()), x.numel());
}

}  // namespace mlforge
