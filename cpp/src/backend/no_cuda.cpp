// The CUDA backend for builds without CUDA: reports no devices and refuses device work.
#include "backend/cuda_entry.h"
#include "mlforge/error.h"

namespace mlforge::detail::cuda {

bool compiled() noexcept { return false; }

int device_count() noexcept { return 0; }

void stream_wait(Stream, Stream) {
  throw Unavailable("[cuda.stream_wait] a CUDA stream was handed over but MLForge was built without CUDA");
}

double reduce_sum(const ArrayView& x, Stream) {
  throw Unavailable("[kernels.reduce_sum] x is a CUDA array (" + x.describe() +
                    ") but MLForge was built without CUDA; rebuild with REACTOR_CUDA=ON");
}

}  // namespace mlforge::detail::cuda
