// Internal entry points into the CUDA backend. Implemented by cuda/ when MLFORGE_ENABLE_CUDA=ON and
// by backend/no_cuda.cpp otherwise, so public headers and callers never need #ifdefs.
#pragma once

#include "mlforge/array.h"
#include "mlforge/device.h"

namespace mlforge::detail::cuda {

// True when CUDA kernels were compiled into this library.
bool compiled() noexcept;
// Number of usable devices; any runtime error (no driver, old driver, no GPU) counts as zero.
int device_count() noexcept;
// See mlforge::cuda_stream_wait.
void stream_wait(Stream consumer, Stream producer);
// Sum of a contiguous float32/float64 device array, float64 accumulation, on `stream`.
double reduce_sum(const ArrayView& x, Stream stream);

}  // namespace mlforge::detail::cuda
