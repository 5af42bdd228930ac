#include "mlforge/array.h"

#include <cstdlib>
#include <limits>
#include <new>
#include <sstream>
#include <utility>

#include "mlforge/error.h"

namespace mlforge {
namespace {

constexpr std::size_t kAlignment = 64;  // a cache line; also satisfies AVX-512 loads

int checked_ndim(const char* op, int ndim) {
  MLFORGE_CHECK(ndim >= 0 && ndim <= kMaxDims, InvalidArgument, "[", op, "] ndim must be in [0, ",
                kMaxDims, "], got ", ndim);
  return ndim;
}

void copy_shape(const char* op, int ndim, const std::int64_t* src, Shape& dst) {
  for (int i = 0; i < ndim; ++i) {
    MLFORGE_CHECK(src[i] >= 0, InvalidArgument, "[", op, "] shape[", i, "] must be >= 0, got ", src[i]);
    dst[static_cast<std::size_t>(i)] = src[i];
  }
}

// Refuses views whose byte size overflows int64: a forged __cuda_array_interface__ could
// otherwise make numel() wrap and a kernel read anywhere.
void check_byte_size(const char* op, int ndim, const std::int64_t* src, DType dtype) {
  std::int64_t bytes = static_cast<std::int64_t>(dtype_size(dtype));
  for (int i = 0; i < ndim; ++i) {
    if (src[i] == 0) return;  // an empty array has no bytes, whatever the other dimensions say
  }
  for (int i = 0; i < ndim; ++i) {
    MLFORGE_CHECK(!__builtin_mul_overflow(bytes, src[i], &bytes), InvalidArgument, "[", op,
                  "] shape overflows: dimension ", i, " = ", src[i], " makes the array larger than 2**63 bytes");
  }
}

// Element count; 0 as soon as one dimension is 0 (before any product can overflow).
std::int64_t product(int ndim, const Shape& shape) {
  for (int i = 0; i < ndim; ++i) {
    if (shape[static_cast<std::size_t>(i)] == 0) return 0;
  }
  std::int64_t n = 1;
  for (int i = 0; i < ndim; ++i) n *= shape[static_cast<std::size_t>(i)];
  return n;
}

const char* device_name(DeviceType type) { return type == DeviceType::kCUDA ? "cuda" : "cpu"; }

}  // namespace

std::size_t dtype_size(DType dtype) noexcept {
  switch (dtype) {
    case DType::kBool: case DType::kInt8: case DType::kUInt8: return 1;
    case DType::kInt16: case DType::kUInt16: case DType::kFloat16: case DType::kBFloat16: return 2;
    case DType::kInt32: case DType::kUInt32: case DType::kFloat32: return 4;
    case DType::kInt64: case DType::kUInt64: case DType::kFloat64: return 8;
  }
  return 0;
}

const char* dtype_name(DType dtype) noexcept {
  switch (dtype) {
    case DType::kBool: return "bool";
    case DType::kInt8: return "int8";
    case DType::kInt16: return "int16";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
    case DType::kUInt8: return "uint8";
    case DType::kUInt16: return "uint16";
    case DType::kUInt32: return "uint32";
    case DType::kUInt64: return "uint64";
    case DType::kFloat16: return "float16";
    case DType::kBFloat16: return "bfloat16";
    case DType::kFloat32: return "float32";
    case DType::kFloat64: return "float64";
  }
  return "unknown";
}

ArrayView::ArrayView(void* data, DType dtype, std::initializer_list<std::int64_t> shape, Device device,
                     bool writable)
    : ArrayView(data, dtype, static_cast<int>(shape.size()), shape.begin(), nullptr, device, writable) {}

ArrayView::ArrayView(void* data, DType dtype, int ndim, const std::int64_t* shape,
                     const std::int64_t* strides, Device device, bool writable)
    : data_(data), dtype_(dtype), ndim_(checked_ndim("ArrayView", ndim)), device_(device), writable_(writable) {
  copy_shape("ArrayView", ndim_, shape, shape_);
  check_byte_size("ArrayView", ndim_, shape, dtype_);
  // Unsigned: for an empty array with huge other dimensions the product may wrap, harmlessly
  // (no element is ever addressed); for non-empty arrays check_byte_size rules overflow out.
  std::uint64_t running = 1;
  for (int i = ndim_ - 1; i >= 0; --i) {
    const auto axis = static_cast<std::size_t>(i);
    strides_[axis] = strides != nullptr ? strides[i] : static_cast<std::int64_t>(running);
    running *= static_cast<std::uint64_t>(shape_[axis]);
  }
}

std::int64_t ArrayView::numel() const { return product(ndim_, shape_); }

bool ArrayView::is_contiguous() const {
  if (numel() == 0) return true;  // nothing to lay out (and the products below could overflow)
  std::int64_t expected = 1;
  for (int i = ndim_ - 1; i >= 0; --i) {
    const auto axis = static_cast<std::size_t>(i);
    // Strides of length-1 axes never matter (torch and numpy disagree on them).
    if (shape_[axis] != 1 && strides_[axis] != expected) return false;
    expected *= shape_[axis];
  }
  return true;
}

void ArrayView::require_dtype(const char* op, const char* name, DType expected) const {
  MLFORGE_CHECK(dtype_ == expected, InvalidArgument, "[", op, "] ", name, ": expected dtype ",
                dtype_name(expected), ", got ", describe());
}

void ArrayView::require_ndim(const char* op, const char* name, int expected) const {
  MLFORGE_CHECK(ndim_ == expected, InvalidArgument, "[", op, "] ", name, ": expected ", expected,
                " dimension(s), got ", describe());
}

void ArrayView::require_contiguous(const char* op, const char* name) const {
  MLFORGE_CHECK(is_contiguous(), InvalidArgument, "[", op, "] ", name,
                ": expected a C-contiguous array, got ", describe(),
                " (make it contiguous explicitly, e.g. numpy.ascontiguousarray)");
}

void ArrayView::require_writable(const char* op, const char* name) const {
  MLFORGE_CHECK(writable_, InvalidArgument, "[", op, "] ", name, ": the array is read-only, got ", describe());
}

void ArrayView::require_device(const char* op, const char* name, DeviceType expected) const {
  MLFORGE_CHECK(device_.type == expected, InvalidArgument, "[", op, "] ", name, ": expected an array on ",
                device_name(expected), ", got ", describe());
}

std::string ArrayView::describe() const {
  std::ostringstream out;
  out << dtype_name(dtype_) << '[';
  for (int i = 0; i < ndim_; ++i) out << (i ? ", " : "") << shape_[static_cast<std::size_t>(i)];
  out << "] on " << device_name(device_.type);
  if (device_.is_cuda()) out << ':' << device_.index;
  if (!is_contiguous()) out << " (strided)";
  return out.str();
}

OwnedArray::OwnedArray(DType dtype, std::initializer_list<std::int64_t> shape)
    : OwnedArray(dtype, static_cast<int>(shape.size()), shape.begin()) {}

OwnedArray::OwnedArray(DType dtype, int ndim, const std::int64_t* shape)
    : dtype_(dtype), ndim_(checked_ndim("OwnedArray", ndim)) {
  copy_shape("OwnedArray", ndim_, shape, shape_);
  allocate();
}

void OwnedArray::allocate() {
  // Overflow-checked byte count: a huge request must fail cleanly, never wrap around.
  std::size_t bytes = dtype_size(dtype_);
  for (int i = 0; i < ndim_; ++i) {
    const auto dim = static_cast<std::size_t>(shape_[static_cast<std::size_t>(i)]);
    MLFORGE_CHECK(dim == 0 || bytes <= std::numeric_limits<std::size_t>::max() / dim, CapacityExceeded,
                  "[array.alloc] array of shape dimension ", dim, " overflows the address space");
    bytes *= dim;
  }
  MLFORGE_CHECK(bytes <= std::numeric_limits<std::size_t>::max() - kAlignment, CapacityExceeded,
                "[array.alloc] cannot allocate ", bytes, " bytes");
  const std::size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  data_ = ::operator new(rounded == 0 ? kAlignment : rounded, std::align_val_t{kAlignment}, std::nothrow);
  MLFORGE_CHECK(data_ != nullptr, CapacityExceeded, "[array.alloc] out of memory allocating ", bytes, " bytes");
}

OwnedArray::OwnedArray(OwnedArray&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), dtype_(other.dtype_), ndim_(other.ndim_), shape_(other.shape_) {}

OwnedArray& OwnedArray::operator=(OwnedArray&& other) noexcept {
  if (this != &other) {
    free_data(data_);
    data_ = std::exchange(other.data_, nullptr);
    dtype_ = other.dtype_;
    ndim_ = other.ndim_;
    shape_ = other.shape_;
  }
  return *this;
}

OwnedArray::~OwnedArray() { free_data(data_); }

ArrayView OwnedArray::view() const { return ArrayView(data_, dtype_, ndim_, shape_.data(), nullptr); }

std::int64_t OwnedArray::numel() const { return product(ndim_, shape_); }

void* OwnedArray::release() noexcept { return std::exchange(data_, nullptr); }

void OwnedArray::free_data(void* data) noexcept {
  if (data != nullptr) ::operator delete(data, std::align_val_t{kAlignment});
}

}  // namespace mlforge
