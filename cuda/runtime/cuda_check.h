// CUDA runtime error handling for host code. Internal.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "mlforge/error.h"

// Throws mlforge::Unavailable naming the failed call and CUDA's own message.
#define MLFORGE_CUDA_CHECK(call)                                                                \
  do {                                                                                          \
    const cudaError_t mlforge_cuda_status = (call);                                             \
    if (mlforge_cuda_status != cudaSuccess)                                                     \
      throw ::mlforge::Unavailable(std::string("[cuda] ") + #call + " failed: " +               \
                                   cudaGetErrorString(mlforge_cuda_status));                    \
  } while (0)

namespace mlforge::detail::cuda {

// The device that owns `pointer` (for arrays whose producer did not say, e.g.
// __cuda_array_interface__ views, which carry device index -1).
inline int device_of(const void* pointer) {
  cudaPointerAttributes attributes{};
  MLFORGE_CUDA_CHECK(cudaPointerGetAttributes(&attributes, pointer));
  MLFORGE_CHECK(attributes.type == cudaMemoryTypeDevice || attributes.type == cudaMemoryTypeManaged, InvalidArgument,
                "[cuda] pointer ", pointer, " is not CUDA device memory");
  return attributes.device;
}

// Makes `device` current for one scope and restores the caller's device afterwards, so engine
// calls never change the application's CUDA state behind its back.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    MLFORGE_CUDA_CHECK(cudaGetDevice(&previous_));
    if (device != previous_) MLFORGE_CUDA_CHECK(cudaSetDevice(device));
  }
  ~DeviceGuard() { cudaSetDevice(previous_); }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
};

// Device memory owned by one scope; freed on every exit path.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t bytes) { MLFORGE_CUDA_CHECK(cudaMalloc(&data_, bytes)); }
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  template <class T>
  T* as() const { return static_cast<T*>(data_); }

 private:
  void* data_ = nullptr;
};

}  // namespace mlforge::detail::cuda
