// Argument checks shared by the CPU kernels. Internal.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "mlforge/array.h"
#include "mlforge/error.h"

namespace mlforge::detail {

// A contiguous CPU array of one of `dtypes`, with exactly the given shape, writable if `output`.
inline void require_array(const char* op, const char* name, const ArrayView& a, std::initializer_list<DType> dtypes,
                          std::initializer_list<std::int64_t> shape, bool output = false,
                          DeviceType device = DeviceType::kCPU) {
  a.require_device(op, name, device);
  bool dtype_ok = false;
  for (DType d : dtypes) dtype_ok = dtype_ok || a.dtype() == d;
  if (!dtype_ok) {
    std::string allowed;
    for (DType d : dtypes) allowed += (allowed.empty() ? "" : " or ") + std::string(dtype_name(d));
    throw InvalidArgument(concat("[", op, "] ", name, ": expected dtype ", allowed, ", got ", a.describe()));
  }
  bool shape_ok = a.ndim() == static_cast<int>(shape.size());
  int axis = 0;
  for (std::int64_t dim : shape) shape_ok = shape_ok && a.shape(axis++) == dim;
  if (!shape_ok) {
    std::string expected = "[";
    axis = 0;
    for (std::int64_t dim : shape) expected += (axis++ ? ", " : "") + std::to_string(dim);
    throw InvalidArgument(concat("[", op, "] ", name, ": expected shape ", expected, "], got ", a.describe()));
  }
  a.require_contiguous(op, name);
  if (output) a.require_writable(op, name);
}

// A contiguous CPU array of `dtype` with exactly `reference`'s shape (any rank).
inline void require_like(const char* op, const char* name, const ArrayView& a, const ArrayView& reference, DType dtype,
                         bool output = false) {
  a.require_device(op, name, reference.device().type);
  a.require_dtype(op, name, dtype);
  bool same = a.ndim() == reference.ndim();
  for (int axis = 0; same && axis < a.ndim(); ++axis) same = a.shape(axis) == reference.shape(axis);
  MLFORGE_CHECK(same, InvalidArgument, "[", op, "] ", name, ": expected the shape of ", reference.describe(), ", got ",
                a.describe());
  a.require_contiguous(op, name);
  if (output) a.require_writable(op, name);
}

// Reads element i of a mask-like array (bool, uint8 or float32) as a double.
inline double mask_value(const ArrayView& mask, std::int64_t i) {
  switch (mask.dtype()) {
    case DType::kFloat32: return static_cast<const float*>(mask.data())[i];
    case DType::kBool:
    case DType::kUInt8: return static_cast<const std::uint8_t*>(mask.data())[i] != 0 ? 1.0 : 0.0;
    default: return 0.0;  // unreachable: require_array restricts the dtype
  }
}

// K >= 1 row views, each a contiguous float32 CPU vector of one common length; returns D.
inline std::int64_t require_rows(const char* op, const std::vector<ArrayView>& rows, bool writable = false,
                                 DeviceType device = DeviceType::kCPU) {
  MLFORGE_CHECK(!rows.empty(), InvalidArgument, "[", op, "] updates: at least one update is needed, got none");
  const std::int64_t length = rows[0].ndim() == 1 ? rows[0].shape(0) : -1;
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const std::string name = "updates[" + std::to_string(k) + "]";
    MLFORGE_CHECK(rows[k].ndim() == 1 && rows[k].shape(0) == length, InvalidArgument, "[", op, "] ", name,
                  ": expected a vector of length ", length, " like updates[0], got ", rows[k].describe());
    require_array(op, name.c_str(), rows[k], {DType::kFloat32}, {length}, writable, device);
  }
  return length;
}

// Throws InvalidArgument "[op] updates[r] contains NaN or infinite values" for the first row holding
// either (one pass of row norms; CPU rows); returns when every row is finite.
void require_finite_rows(const char* op, const std::vector<ArrayView>& rows);

}  // namespace mlforge::detail
