// Device discovery for the CUDA backend (host code only).
#include <cuda_runtime_api.h>

#include "backend/cuda_entry.h"
#include "runtime/cuda_check.h"

#include <cstdint>

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

namespace mlforge::detail::cuda {

void stream_wait(Stream consumer, Stream producer) {
  if (consumer.handle == producer.handle) return;  // same stream: already ordered
  MLFORGE_CHECK(device_count() > 0, Unavailable, "[cuda.stream_wait] no CUDA device is usable");
  // The event must live on the producer stream's device (legacy/per-thread handles: the current one).
  const auto handle = reinterpret_cast<std::uintptr_t>(producer.handle);
  int producer_device = 0;
  MLFORGE_CUDA_CHECK(cudaGetDevice(&producer_device));
  if (handle > 2) MLFORGE_CUDA_CHECK(cudaStreamGetDevice(static_cast<cudaStream_t>(producer.handle), &producer_device));
  const DeviceGuard guard(producer_device);
  cudaEvent_t event = nullptr;
  MLFORGE_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
  const cudaError_t recorded = cudaEventRecord(event, static_cast<cudaStream_t>(producer.handle));
  const cudaError_t waited = recorded == cudaSuccess
                                 ? cudaStreamWaitEvent(static_cast<cudaStream_t>(consumer.handle), event, 0)
                                 : recorded;
  cudaEventDestroy(event);  // safe: destruction is deferred until the wait has been satisfied
  MLFORGE_CUDA_CHECK(waited);
}

}  // namespace mlforge::detail::cuda
