// Compute kernels. Each has a CPU implementation (vectorisable loops on the shared pool) and, when
// built with CUDA, a CUDA one with the same signature, chosen by the device of the input. The CPU
// implementation is the CUDA one's test reference.
//
// Thread-safety: pure functions over caller-owned memory. Blocking: CUDA variants run on the given
// stream and synchronise it before returning a host value.
#pragma once

#include "mlforge/api.h"
#include "mlforge/array.h"
#include "mlforge/device.h"

namespace mlforge {

/// Sum of all elements of a contiguous float32 or float64 array, accumulated in float64 with
/// compensation (TwoSum/Neumaier) and combined in a fixed order, so the result is the same for any
/// thread count and CPU. The CUDA version compensates per thread and tree-reduces the partials in
/// float64: deterministic too, and equal to the CPU result to within float64 rounding. NaN and infinities propagate as in IEEE arithmetic; an empty array sums to 0.
/// Throws InvalidArgument for other dtypes or non-contiguous input, Unavailable for CUDA input
/// when CUDA is not compiled in or no GPU is usable.
MLFORGE_API double reduce_sum(const ArrayView& x, Stream stream = {});

}  // namespace mlforge
