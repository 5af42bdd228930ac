// The DLPack exchange ABI (dmlc/dlpack, v0.8 "legacy" layout), declared from the specification so
// the bindings can read tensors from torch, JAX, CuPy... without linking any of them. Only the
// fields the bindings read are named; the layout must match the spec exactly.
#pragma once

#include <cstdint>

namespace reactor_bindings::dlpack {

enum DeviceType : std::int32_t {
  kCPU = 1,
  kCUDA = 2,
  kCUDAHost = 3,     // pinned host memory: CPU-addressable
  kCUDAManaged = 13,
};

enum TypeCode : std::uint8_t { kInt = 0, kUInt = 1, kFloat = 2, kBFloat = 4, kBool = 6 };

struct Device {
  std::int32_t device_type;
  std::int32_t device_id;
};

struct DataType {
  std::uint8_t code;
  std::uint8_t bits;
  std::uint16_t lanes;
};

struct Tensor {
  void* data;
  Device device;
  std::int32_t ndim;
  DataType dtype;
  std::int64_t* shape;
  std::int64_t* strides;  // in elements; null means C-contiguous
  std::uint64_t byte_offset;
};

struct ManagedTensor {
  Tensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(ManagedTensor* self);
};

// Capsule name of an unconsumed legacy DLPack tensor. The producer's capsule destructor calls
// `deleter` while the capsule still has this name, so a borrowing consumer only keeps it alive.
inline constexpr const char* kCapsuleName = "dltensor";

}  // namespace reactor_bindings::dlpack
