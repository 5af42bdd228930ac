// Devices and streams. Public API is identical with or without CUDA support compiled in;
// cuda_available() tells at run time whether CUDA work can run.
#pragma once

#include <cstdint>

#include "mlforge/api.h"

namespace mlforge {

enum class DeviceType : std::int32_t { kCPU = 0, kCUDA = 1 };

/// Where an array's memory lives. Plain value type; thread-safe to copy.
struct Device {
  DeviceType type = DeviceType::kCPU;
  std::int32_t index = 0;

  bool is_cpu() const { return type == DeviceType::kCPU; }
  bool is_cuda() const { return type == DeviceType::kCUDA; }
  bool operator==(const Device& other) const { return type == other.type && index == other.index; }
  bool operator!=(const Device& other) const { return !(*this == other); }
};

/// An opaque CUDA stream (cudaStream_t) supplied by the caller, e.g. torch's current stream.
/// A null handle means the default (legacy) stream. Ignored for CPU work.
struct Stream {
  void* handle = nullptr;
};

/// True when this build has CUDA and at least one usable GPU. Never throws: any CUDA runtime
/// error (no driver, driver too old, no device) means "not available".
MLFORGE_API bool cuda_available() noexcept;

/// Number of usable CUDA devices; 0 without CUDA support or without a GPU. Never throws.
MLFORGE_API int cuda_device_count() noexcept;

/// Makes work later submitted to `consumer` wait for the work already queued on `producer`
/// (an event recorded on one stream and waited on by the other; the host never blocks). Used when
/// a producer hands over device memory that a stream may still be writing. Handles follow the
/// CUDA conventions (null or 0x1: legacy default stream, 0x2: per-thread default stream).
/// Throws Unavailable without CUDA support or a usable GPU.
MLFORGE_API void cuda_stream_wait(Stream consumer, Stream producer);

/// True when the library was compiled with CUDA kernels (MLFORGE_ENABLE_CUDA=ON).
MLFORGE_API bool cuda_compiled() noexcept;

}  // namespace mlforge
