// The selector factory, selector names and the rate-limiter presets.
#include <algorithm>
#include <cmath>
#include <limits>

#include "mlforge/error.h"
#include "replay/selector.h"

namespace mlforge {
namespace replay {

const char* selector_name(Selector selector) noexcept {
  switch (selector) {
    case Selector::kUniform: return "uniform";
    case Selector::kPrioritized: return "prioritized";
    case Selector::kFifo: return "fifo";
    case Selector::kLifo: return "lifo";
    case Selector::kMaxHeap: return "max_heap";
    case Selector::kMinHeap: return "min_heap";
    case Selector::kReservoir: return "reservoir";
  }
  return "unknown";
}

RateLimiter RateLimiter::min_size(std::int64_t min_size) {
  MLFORGE_CHECK(min_size >= 1, InvalidArgument, "[replay.rate_limiter] min_size must be >= 1, got ", min_size);
  RateLimiter limiter;
  limiter.min_size_to_sample = min_size;
  return limiter;
}

RateLimiter RateLimiter::sample_to_insert_ratio(double samples_per_insert, std::int64_t min_size, double error_buffer) {
  MLFORGE_CHECK(std::isfinite(samples_per_insert) && samples_per_insert > 0, InvalidArgument,
                "[replay.rate_limiter] samples_per_insert must be finite and > 0, got ", samples_per_insert);
  MLFORGE_CHECK(min_size >= 1, InvalidArgument, "[replay.rate_limiter] min_size_to_sample must be >= 1, got ", min_size);
  // Reverb's rule: a narrower window can leave both inserts and samples blocked for good.
  const double needed = 2.0 * std::max(1.0, samples_per_insert);
  MLFORGE_CHECK(std::isfinite(error_buffer) && error_buffer >= needed, InvalidArgument,
                "[replay.rate_limiter] error_buffer must be >= 2 * max(1, samples_per_insert) = ", needed,
                " or inserts and samples can deadlock, got ", error_buffer);
  RateLimiter limiter;
  limiter.samples_per_insert = samples_per_insert;
  limiter.min_size_to_sample = min_size;
  const double offset = samples_per_insert * static_cast<double>(min_size);
  limiter.min_diff = offset - error_buffer;
  limiter.max_diff = offset + error_buffer;
  return limiter;
}

RateLimiter RateLimiter::queue(std::int64_t size) {
  MLFORGE_CHECK(size >= 1, InvalidArgument, "[replay.rate_limiter] queue size must be >= 1, got ", size);
  RateLimiter limiter;
  limiter.min_diff = 0.0;
  limiter.max_diff = static_cast<double>(size);
  return limiter;
}

RateLimiter RateLimiter::stack(std::int64_t size) { return queue(size); }

namespace detail {

std::unique_ptr<ItemSelector> make_selector(Selector kind, const TableConfig& config) {
  switch (kind) {
    case Selector::kUniform:
    case Selector::kReservoir:
      return make_uniform_selector(config.capacity);
    case Selector::kPrioritized:
      return make_prioritized_selector(config.capacity, config.alpha, config.epsilon);
    case Selector::kFifo:
      return make_ordered_selector(config.capacity, false);
    case Selector::kLifo:
      return make_ordered_selector(config.capacity, true);
    case Selector::kMaxHeap:
      return make_heap_selector(true);
    case Selector::kMinHeap:
      return make_heap_selector(false);
  }
  return make_uniform_selector(config.capacity);
}

}  // namespace detail
}  // namespace replay
}  // namespace mlforge
