// Internal entry points of the random fills for other engine components.
#pragma once

#include <cstdint>

#include "mlforge/array.h"

namespace mlforge::detail {

// out[i] = out[i] + std * normal(i) for the (seed, stream) sequence, summed in float64 and rounded
// once; the added values are exactly those fill_normal(out, seed, stream, 0, 0.0, std) writes.
// `out` must already be validated (contiguous, writable float32/float64 CPU). Multi-threaded,
// deterministic for any thread count.
void add_normal(const ArrayView& out, std::uint64_t seed, std::uint64_t stream, double std);

}  // namespace mlforge::detail
