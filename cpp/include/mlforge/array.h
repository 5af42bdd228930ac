// Arrays at the engine boundary.
//
// ArrayView: a non-owning view of memory owned by someone else (a numpy array, a torch tensor, a
//   buffer in a C++ service): data pointer, dtype, shape, strides in elements, device, and whether
//   writes are allowed. Views are cheap value types; the owner must outlive every use of the view.
//   Engine functions validate a view with the require_* helpers before touching its memory.
// OwnedArray: memory allocated by the engine (64-byte aligned) for results. Movable, not copyable;
//   release() hands the allocation to another owner (the Python bindings wrap it in a capsule so
//   numpy can use it without a copy), to be freed with OwnedArray::free_data().
// Thread-safety: both are plain data; concurrent reads are safe, concurrent writes to the same
// memory are the caller's business. Errors: InvalidArgument for bad dtype/shape/layout/access,
// CapacityExceeded when an allocation size overflows or cannot be satisfied.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "mlforge/api.h"
#include "mlforge/device.h"

namespace mlforge {

enum class DType : std::int32_t {
  kBool,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kUInt8,
  kUInt16,
  kUInt32,
  kUInt64,
  kFloat16,
  kBFloat16,
  kFloat32,
  kFloat64,
};

/// Size of one element in bytes.
MLFORGE_API std::size_t dtype_size(DType dtype) noexcept;
/// numpy-style name: "float32", "int64", "bfloat16", ...
MLFORGE_API const char* dtype_name(DType dtype) noexcept;

/// Maps a C++ element type to its DType (only for the types the engine computes with).
template <class T>
struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::kFloat32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::kFloat64; };
template <> struct dtype_of<std::int32_t> { static constexpr DType value = DType::kInt32; };
template <> struct dtype_of<std::int64_t> { static constexpr DType value = DType::kInt64; };
template <> struct dtype_of<std::uint8_t> { static constexpr DType value = DType::kUInt8; };
template <> struct dtype_of<std::uint32_t> { static constexpr DType value = DType::kUInt32; };
template <> struct dtype_of<std::uint64_t> { static constexpr DType value = DType::kUInt64; };

inline constexpr int kMaxDims = 8;
using Shape = std::array<std::int64_t, kMaxDims>;

/// Non-owning, possibly strided view of an n-dimensional array (see the file comment).
class MLFORGE_API ArrayView {
 public:
  ArrayView() = default;
  /// A C-contiguous view. Throws InvalidArgument when ndim > kMaxDims or a dimension is negative.
  ArrayView(void* data, DType dtype, std::initializer_list<std::int64_t> shape,
            Device device = {}, bool writable = true);
  /// A general view; `strides` are in elements (not bytes) and may be null for C-contiguous.
  ArrayView(void* data, DType dtype, int ndim, const std::int64_t* shape,
            const std::int64_t* strides, Device device = {}, bool writable = true);

  void* data() const { return data_; }
  DType dtype() const { return dtype_; }
  int ndim() const { return ndim_; }
  std::int64_t shape(int axis) const { return shape_[static_cast<std::size_t>(axis)]; }
  std::int64_t stride(int axis) const { return strides_[static_cast<std::size_t>(axis)]; }
  Device device() const { return device_; }
  bool writable() const { return writable_; }

  std::int64_t numel() const;
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }
  bool is_contiguous() const;

  /// Typed pointer; throws InvalidArgument when T does not match dtype().
  template <class T>
  T* data_as() const {
    require_dtype("ArrayView.data_as", "array", dtype_of<T>::value);
    return static_cast<T*>(data_);
  }

  // Validation helpers. `op` is "component.op", `name` the parameter name used in the message.
  void require_dtype(const char* op, const char* name, DType expected) const;
  void require_ndim(const char* op, const char* name, int expected) const;
  void require_contiguous(const char* op, const char* name) const;
  void require_writable(const char* op, const char* name) const;
  void require_device(const char* op, const char* name, DeviceType expected) const;

  /// "float32[3, 4] on cpu" — used in error messages.
  std::string describe() const;

 private:
  void* data_ = nullptr;
  DType dtype_ = DType::kFloat32;
  int ndim_ = 0;
  Shape shape_{};
  Shape strides_{};
  Device device_{};
  bool writable_ = true;
};

/// Engine-allocated, 64-byte aligned, C-contiguous CPU array (see the file comment).
class MLFORGE_API OwnedArray {
 public:
  OwnedArray() = default;
  /// Allocates uninitialised memory. Throws InvalidArgument for negative dimensions and
  /// CapacityExceeded when the byte size overflows or the allocation fails.
  OwnedArray(DType dtype, std::initializer_list<std::int64_t> shape);
  OwnedArray(DType dtype, int ndim, const std::int64_t* shape);
  OwnedArray(OwnedArray&& other) noexcept;
  OwnedArray& operator=(OwnedArray&& other) noexcept;
  OwnedArray(const OwnedArray&) = delete;
  OwnedArray& operator=(const OwnedArray&) = delete;
  ~OwnedArray();

  ArrayView view() const;
  void* data() const { return data_; }
  DType dtype() const { return dtype_; }
  int ndim() const { return ndim_; }
  std::int64_t shape(int axis) const { return shape_[static_cast<std::size_t>(axis)]; }
  std::int64_t numel() const;

  /// Gives up ownership; the caller must later pass the pointer to free_data().
  void* release() noexcept;
  /// Frees memory obtained from release(). Null is allowed.
  static void free_data(void* data) noexcept;

 private:
  void allocate();

  void* data_ = nullptr;
  DType dtype_ = DType::kFloat32;
  int ndim_ = 0;
  Shape shape_{};
};

}  // namespace mlforge
