// Streaming aggregation (see mlforge/aggregate.h): Kahan-compensated float64 sums per coordinate,
// updated chunk by chunk on the pool. Every coordinate's additions happen in arrival order on one
// thread, so the result is the same for any thread count.
#include <algorithm>
#include <cmath>
#include <string>
#include <mutex>
#include <vector>

#include "mlforge/aggregate.h"
#include "mlforge/error.h"
#include "mlforge/parallel.h"

namespace mlforge {

struct StreamingAggregator::State {
  std::int64_t dim = 0;
  double clip_norm = 0.0;
  std::vector<double> sum;
  std::vector<double> compensation;  // Kahan: the low-order bits lost by each addition
  std::int64_t count = 0;
  double total_weight = 0.0;
  mutable std::mutex mutex;
};

namespace {

constexpr std::int64_t kGrain = 1 << 14;

void check_vector(const ArrayView& v, std::int64_t dim, const char* op, const char* name, bool output) {
  MLFORGE_CHECK(v.device().type == DeviceType::kCPU, InvalidArgument, op, " ", name, ": expected a CPU array");
  MLFORGE_CHECK(v.ndim() == 1 && v.shape(0) == dim, InvalidArgument, op, " ", name, ": expected shape (", dim,
                ",), got ", v.ndim(), " dims", v.ndim() >= 1 ? " of length " + std::to_string(v.shape(0)) : "");
  MLFORGE_CHECK(v.is_contiguous(), InvalidArgument, op, " ", name, ": expected a contiguous array");
  if (output) {
    MLFORGE_CHECK(v.dtype() == DType::kFloat32 || v.dtype() == DType::kFloat64, InvalidArgument, op, " ", name,
                  ": expected float32 or float64, got ", dtype_name(v.dtype()));
    MLFORGE_CHECK(v.writable(), InvalidArgument, op, " ", name, ": output is read-only");
  } else {
    MLFORGE_CHECK(v.dtype() == DType::kFloat32, InvalidArgument, op, " ", name, ": expected float32, got ",
                  dtype_name(v.dtype()));
  }
}

}  // namespace

StreamingAggregator::StreamingAggregator(std::int64_t dim, double clip_norm) : state_(std::make_unique<State>()) {
  MLFORGE_CHECK(dim >= 1, InvalidArgument, "[aggregate.streaming] dim must be >= 1, got ", dim);
  MLFORGE_CHECK(std::isfinite(clip_norm) && clip_norm >= 0, InvalidArgument,
                "[aggregate.streaming] clip_norm must be finite and >= 0 (0: no clipping), got ", clip_norm);
  state_->dim = dim;
  state_->clip_norm = clip_norm;
  state_->sum.assign(static_cast<std::size_t>(dim), 0.0);
  state_->compensation.assign(static_cast<std::size_t>(dim), 0.0);
}

StreamingAggregator::~StreamingAggregator() = default;

double StreamingAggregator::add(const ArrayView& update, double weight) {
  const char* op = "[aggregate.streaming.add]";
  State& s = *state_;
  check_vector(update, s.dim, op, "update", false);
  MLFORGE_CHECK(std::isfinite(weight) && weight >= 0, InvalidArgument, op, " weight must be finite and >= 0, got ",
                weight);
  const auto* u = static_cast<const float*>(update.data());
  // One pass for the norm and the finiteness check; chunk results are combined in chunk order.
  const double squared = parallel_reduce<double>(
      0, s.dim, kGrain, 0.0,
      [u](std::int64_t lo, std::int64_t hi) {
        double acc = 0.0;
        for (std::int64_t i = lo; i < hi; ++i) acc += static_cast<double>(u[i]) * static_cast<double>(u[i]);
        return acc;
      },
      [](double a, double b) { return a + b; });
  if (!std::isfinite(squared)) {
    std::int64_t bad = 0;
    while (bad < s.dim && std::isfinite(u[bad])) ++bad;
    MLFORGE_CHECK(false, InvalidArgument, op, " update[", bad, "] is not finite (", u[bad], ")");
  }
  const double norm = std::sqrt(squared);
  const double scale = s.clip_norm > 0 && norm > s.clip_norm ? s.clip_norm / norm : 1.0;
  const double factor = weight * scale;
  std::lock_guard<std::mutex> lock(s.mutex);
  double* sum = s.sum.data();
  double* comp = s.compensation.data();
  parallel_for(0, s.dim, kGrain, [=](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      const double y = factor * static_cast<double>(u[i]) - comp[i];
      const double t = sum[i] + y;
      comp[i] = (t - sum[i]) - y;
      sum[i] = t;
    }
  });
  ++s.count;
  s.total_weight += weight;
  return scale;
}

std::int64_t StreamingAggregator::dim() const noexcept { return state_->dim; }

std::int64_t StreamingAggregator::count() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->count;
}

double StreamingAggregator::total_weight() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->total_weight;
}

namespace {

void write_scaled(const std::vector<double>& sum, double factor, const ArrayView& out) {
  const double* in = sum.data();
  if (out.dtype() == DType::kFloat64) {
    auto* o = static_cast<double*>(out.data());
    parallel_for(0, out.shape(0), kGrain, [=](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) o[i] = in[i] * factor;
    });
  } else {
    auto* o = static_cast<float*>(out.data());
    parallel_for(0, out.shape(0), kGrain, [=](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) o[i] = static_cast<float>(in[i] * factor);
    });
  }
}

}  // namespace

void StreamingAggregator::mean(const ArrayView& out) const {
  const State& s = *state_;
  check_vector(out, s.dim, "[aggregate.streaming.mean]", "out", true);
  std::lock_guard<std::mutex> lock(s.mutex);
  MLFORGE_CHECK(s.total_weight > 0, InvalidArgument,
                "[aggregate.streaming.mean] no weight yet: add at least one update with a positive weight");
  write_scaled(s.sum, 1.0 / s.total_weight, out);
}

void StreamingAggregator::sum(const ArrayView& out) const {
  const State& s = *state_;
  check_vector(out, s.dim, "[aggregate.streaming.sum]", "out", true);
  std::lock_guard<std::mutex> lock(s.mutex);
  write_scaled(s.sum, 1.0, out);
}

void StreamingAggregator::reset() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  std::fill(state_->sum.begin(), state_->sum.end(), 0.0);
  std::fill(state_->compensation.begin(), state_->compensation.end(), 0.0);
  state_->count = 0;
  state_->total_weight = 0.0;
}

}  // namespace mlforge
