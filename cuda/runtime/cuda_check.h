// CUDA runtime error handling for host code. Internal.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include "mlforge/array.h"
#include "mlforge/device.h"

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

// Stream-ordered device memory owned by one scope (cudaMallocAsync / cudaFreeAsync on `stream`,
// so temporaries never synchronise the device); freed on every exit path.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t bytes, cudaStream_t stream = nullptr) : stream_(stream) {
    MLFORGE_CUDA_CHECK(cudaMallocAsync(&data_, bytes == 0 ? 1 : bytes, stream));
  }
  ~DeviceBuffer() { cudaFreeAsync(data_, stream_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  template <class T>
  T* as() const { return static_cast<T*>(data_); }

 private:
  void* data_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

// A device-side "first bad element" slot: kernels atomicMin the index of an offending element,
// the host reads it back after the stream synchronises (kNone when all was well).
class ErrorSlot {
 public:
  static constexpr long long kNone = 0x7fffffffffffffffLL;
  explicit ErrorSlot(cudaStream_t stream) : buffer_(sizeof(long long), stream), stream_(stream) {
    MLFORGE_CUDA_CHECK(cudaMemcpyAsync(buffer_.as<long long>(), &kNone, sizeof(long long), cudaMemcpyHostToDevice, stream));
  }
  long long* device() const { return buffer_.as<long long>(); }
  // Synchronises the stream; returns the first flagged index or kNone.
  long long read() const {
    long long host = kNone;
    MLFORGE_CUDA_CHECK(cudaMemcpyAsync(&host, buffer_.as<long long>(), sizeof(long long), cudaMemcpyDeviceToHost, stream_));
    MLFORGE_CUDA_CHECK(cudaStreamSynchronize(stream_));
    return host;
  }

 private:
  DeviceBuffer buffer_;
  cudaStream_t stream_;
};

// Grid size for n elements with `block` threads each, capped for grid-stride loops.
inline int grid_for(std::int64_t n, int block, int cap = 65535) {
  const std::int64_t blocks = (n + block - 1) / block;
  return static_cast<int>(blocks < 1 ? 1 : (blocks > cap ? cap : blocks));
}

inline cudaStream_t to_cuda(Stream stream) { return static_cast<cudaStream_t>(stream.handle); }

// The device index of an array (resolving -1 from __cuda_array_interface__ by its pointer).
inline int device_index(const ArrayView& a) { return a.device().index >= 0 ? a.device().index : device_of(a.data()); }

}  // namespace mlforge::detail::cuda
