#include <cmath>

#include "backend/cuda_entry.h"
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

// Neumaier summation of one chunk in kLanes independent lanes (element i goes to lane i % kLanes).
// The lanes have no dependency on each other, so the compiler keeps them in SIMD registers; the
// branch-free select keeps the loop vectorisable. Lanes are folded in a fixed order.
constexpr int kLanes = 8;

template <class T>
CompensatedSum sum_chunk(const T* data, std::int64_t lo, std::int64_t hi) {
  double sums[kLanes] = {};
  double compensations[kLanes] = {};
  std::int64_t i = lo;
  for (; i + kLanes <= hi; i += kLanes) {
    for (int lane = 0; lane < kLanes; ++lane) {
      const double value = static_cast<double>(data[i + lane]);
      const double t = sums[lane] + value;
      const bool sum_is_larger = std::fabs(sums[lane]) >= std::fabs(value);
      compensations[lane] += sum_is_larger ? (sums[lane] - t) + value : (value - t) + sums[lane];
      sums[lane] = t;
    }
  }
  CompensatedSum chunk;
  for (int lane = 0; lane < kLanes; ++lane) {
    chunk.add(sums[lane]);
    // A lane that overflowed or met a NaN has a meaningless compensation (inf - inf = NaN).
    if (std::isfinite(sums[lane])) chunk.add(compensations[lane]);
  }
  for (; i < hi; ++i) chunk.add(static_cast<double>(data[i]));
  return chunk;
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
