// Embeds MLForge without Python: parallel random numbers, a reduction, build info and errors.
#include <mlforge/mlforge.h>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  const mlforge::BuildInfo info = mlforge::build_info();
  std::printf("MLForge %s (%s, %s, simd %s, %d threads, cuda compiled %d, available %d)\n", info.version.c_str(),
              info.compiler.c_str(), info.cxx_standard.c_str(), info.simd.c_str(), info.num_threads,
              info.cuda_compiled, info.cuda_available);
  if (info.version != MLFORGE_VERSION_STRING) {
    std::fprintf(stderr, "header/library version mismatch\n");
    return 1;
  }

  std::vector<double> samples(1'000'000);
  const mlforge::ArrayView view(samples.data(), mlforge::DType::kFloat64, {static_cast<std::int64_t>(samples.size())});
  mlforge::fill_normal(view, /*seed=*/42, /*stream=*/0, /*offset=*/0, /*mean=*/3.0, /*std=*/1.0);
  const double mean = mlforge::reduce_sum(view) / static_cast<double>(samples.size());
  std::printf("mean of 1e6 N(3, 1) samples: %.4f\n", mean);
  if (std::fabs(mean - 3.0) > 0.01) return 1;

  try {
    mlforge::fill_normal(view, 0, 0, 0, 0.0, -1.0);
    std::fprintf(stderr, "expected InvalidArgument\n");
    return 1;
  } catch (const mlforge::InvalidArgument& error) {
    std::printf("bad input rejected: %s\n", error.what());
  }
  std::printf("consumer OK\n");
  return 0;
}
