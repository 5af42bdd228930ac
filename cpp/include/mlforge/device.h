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

/// True when the library was compiled with CUDA kernels (MLFORGE_ENABLE_CUDA=ON).
MLFORGE_API bool cuda_compiled() noexcept;

}  // namespace mlforge
