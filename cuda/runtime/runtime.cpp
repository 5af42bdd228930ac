// Device discovery for the CUDA backend (host code only).
#include <cuda_runtime_api.h>

#include "backend/cuda_entry.h"

namespace mlforge::detail::cuda {

bool compiled() noexcept { return true; }

int device_count() noexcept {
  // Without a GPU or with a driver older than the runtime, this returns an error such as
  // cudaErrorInsufficientDriver or cudaErrorNoDevice: that means "no GPU", never a failure.
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return 0;
  }
  return count;
}

}  // namespace mlforge::detail::cuda
