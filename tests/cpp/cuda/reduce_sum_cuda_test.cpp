// CUDA twin checks: run only on a machine with a GPU, against the CPU implementation.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "mlforge/device.h"
#include "mlforge/kernels.h"

namespace {

TEST(ReduceSumCuda, MatchesCpuTwin) {
  if (!mlforge::cuda_available()) GTEST_SKIP() << "no usable CUDA device";
  for (std::int64_t n : {0, 1, 255, 256, 257, 1'000'003, 10'000'000}) {
    std::vector<float> host(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) host[static_cast<std::size_t>(i)] = std::sin(static_cast<float>(i));
    const double cpu = mlforge::reduce_sum(mlforge::ArrayView(host.data(), mlforge::DType::kFloat32, {n}));
    void* device = nullptr;
    ASSERT_EQ(cudaMalloc(&device, sizeof(float) * static_cast<std::size_t>(n + 1)), cudaSuccess);
    ASSERT_EQ(cudaMemcpy(device, host.data(), sizeof(float) * host.size(), cudaMemcpyHostToDevice), cudaSuccess);
    const mlforge::ArrayView view(device, mlforge::DType::kFloat32, {n}, {mlforge::DeviceType::kCUDA, 0});
    const double gpu = mlforge::reduce_sum(view);
    EXPECT_NEAR(gpu, cpu, 1e-9 * (1.0 + std::fabs(cpu))) << "n=" << n;
    EXPECT_EQ(mlforge::reduce_sum(view), gpu) << "GPU result must be deterministic, n=" << n;
    cudaFree(device);
  }
}

TEST(ReduceSumCuda, UnavailableWithoutGpuIsReportedNotCrashed) {
  if (mlforge::cuda_available()) GTEST_SKIP() << "a GPU is present";
  EXPECT_TRUE(mlforge::cuda_compiled());
  EXPECT_EQ(mlforge::cuda_device_count(), 0);
}

}  // namespace

namespace {

TEST(ReduceSumCuda, CancellationAcrossThreadsSurvives) {
  if (!mlforge::cuda_available()) GTEST_SKIP() << "no usable CUDA device";
  std::vector<double> host = {1.0, 1e16, -1e16};
  host.resize(100000, 0.0);
  host[70000] = 1.0;
  void* device = nullptr;
  ASSERT_EQ(cudaMalloc(&device, sizeof(double) * host.size()), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(device, host.data(), sizeof(double) * host.size(), cudaMemcpyHostToDevice), cudaSuccess);
  const mlforge::ArrayView view(device, mlforge::DType::kFloat64, {static_cast<std::int64_t>(host.size())},
                                {mlforge::DeviceType::kCUDA, 0});
  EXPECT_EQ(mlforge::reduce_sum(view), 2.0);
  cudaFree(device);
}

}  // namespace
