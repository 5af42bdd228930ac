#include "mlforge/array.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "mlforge/error.h"

namespace {

using mlforge::ArrayView;
using mlforge::DType;

TEST(ArrayView, ContiguousDefaultsAndCounts) {
  std::vector<float> data(12);
  const ArrayView view(data.data(), DType::kFloat32, {3, 4});
  EXPECT_EQ(view.ndim(), 2);
  EXPECT_EQ(view.numel(), 12);
  EXPECT_EQ(view.nbytes(), 48u);
  EXPECT_EQ(view.stride(0), 4);
  EXPECT_EQ(view.stride(1), 1);
  EXPECT_TRUE(view.is_contiguous());
  EXPECT_EQ(view.data_as<float>(), data.data());
  EXPECT_EQ(view.describe(), "float32[3, 4] on cpu");
}

TEST(ArrayView, StridedViewIsNotContiguousButUnitAxesAreIgnored) {
  std::vector<double> data(20);
  const std::int64_t shape[] = {5, 2};
  const std::int64_t strided[] = {4, 1};
  EXPECT_FALSE(ArrayView(data.data(), DType::kFloat64, 2, shape, strided).is_contiguous());
  const std::int64_t unit_shape[] = {1, 5};
  const std::int64_t odd_unit_strides[] = {999, 1};
  EXPECT_TRUE(ArrayView(data.data(), DType::kFloat64, 2, unit_shape, odd_unit_strides).is_contiguous());
}

TEST(ArrayView, RequireHelpersNameOpParameterAndValue) {
  std::vector<std::int64_t> data(6);
  const ArrayView view(data.data(), DType::kInt64, {2, 3}, {}, /*writable=*/false);
  try {
    view.require_dtype("demo.op", "weights", DType::kFloat32);
    FAIL();
  } catch (const mlforge::InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "[demo.op] weights: expected dtype float32, got int64[2, 3] on cpu");
  }
  EXPECT_THROW(view.require_ndim("demo.op", "weights", 1), mlforge::InvalidArgument);
  EXPECT_THROW(view.require_writable("demo.op", "weights"), mlforge::InvalidArgument);
  EXPECT_THROW(view.require_device("demo.op", "weights", mlforge::DeviceType::kCUDA), mlforge::InvalidArgument);
  EXPECT_THROW(view.data_as<float>(), mlforge::InvalidArgument);
  EXPECT_NO_THROW(view.require_contiguous("demo.op", "weights"));
}

TEST(ArrayView, RejectsBadShapes) {
  const std::int64_t negative[] = {2, -1};
  EXPECT_THROW(ArrayView(nullptr, DType::kFloat32, 2, negative, nullptr), mlforge::InvalidArgument);
  const std::int64_t overflowing[] = {std::int64_t{1} << 62, std::int64_t{1} << 62};
  EXPECT_THROW(ArrayView(nullptr, DType::kFloat32, 2, overflowing, nullptr), mlforge::InvalidArgument);
  const std::int64_t empty_but_huge[] = {0, std::int64_t{1} << 62, std::int64_t{1} << 62};
  EXPECT_EQ(ArrayView(nullptr, DType::kFloat32, 3, empty_but_huge, nullptr).numel(), 0);
  const std::int64_t many[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  EXPECT_THROW(ArrayView(nullptr, DType::kFloat32, 9, many, nullptr), mlforge::InvalidArgument);
}

TEST(OwnedArray, AlignedMoveAndRelease) {
  mlforge::OwnedArray owned(DType::kFloat64, {4, 5});
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(owned.data()) % 64, 0u);
  EXPECT_EQ(owned.numel(), 20);
  void* data = owned.data();
  mlforge::OwnedArray moved(std::move(owned));
  EXPECT_EQ(moved.data(), data);
  EXPECT_EQ(moved.view().data(), data);
  void* released = moved.release();
  EXPECT_EQ(released, data);
  EXPECT_EQ(moved.data(), nullptr);
  mlforge::OwnedArray::free_data(released);
}

TEST(OwnedArray, EmptyAndHugeAllocations) {
  mlforge::OwnedArray empty(DType::kFloat32, {0});
  EXPECT_EQ(empty.numel(), 0);
  EXPECT_NE(empty.data(), nullptr);
  const std::int64_t huge = std::numeric_limits<std::int64_t>::max() / 2;
  EXPECT_THROW(mlforge::OwnedArray(DType::kFloat64, {huge}), mlforge::CapacityExceeded);
  EXPECT_THROW(mlforge::OwnedArray(DType::kFloat64, {huge, huge}), mlforge::CapacityExceeded);
  // 2**50 bytes is a valid size that no machine can allocate: a clean CapacityExceeded.
  EXPECT_THROW(mlforge::OwnedArray(DType::kUInt8, {std::int64_t{1} << 50}), mlforge::CapacityExceeded);
  EXPECT_THROW(mlforge::OwnedArray(DType::kFloat64, {3, -1}), mlforge::InvalidArgument);
}

TEST(DType, SizesAndNames) {
  EXPECT_EQ(mlforge::dtype_size(DType::kBFloat16), 2u);
  EXPECT_EQ(mlforge::dtype_size(DType::kUInt64), 8u);
  EXPECT_STREQ(mlforge::dtype_name(DType::kBool), "bool");
  EXPECT_STREQ(mlforge::dtype_name(DType::kFloat16), "float16");
}

}  // namespace
