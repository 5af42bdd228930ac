#include "mlforge/version.h"

#include <gtest/gtest.h>

#include <string>

#include "mlforge/device.h"
#include "mlforge/parallel.h"

namespace {

TEST(Version, LibraryMatchesHeaders) { EXPECT_STREQ(mlforge::version(), MLFORGE_VERSION_STRING); }

TEST(BuildInfo, DescribesTheBuildAndMachine) {
  const mlforge::BuildInfo info = mlforge::build_info();
  EXPECT_EQ(info.version, MLFORGE_VERSION_STRING);
  EXPECT_FALSE(info.compiler.empty());
  EXPECT_EQ(info.cxx_standard.rfind("C++", 0), 0u);
  EXPECT_FALSE(info.simd.empty());
  EXPECT_EQ(info.num_threads, mlforge::num_threads());
  EXPECT_EQ(info.cuda_compiled, mlforge::cuda_compiled());
  EXPECT_EQ(info.cuda_available, info.cuda_device_count > 0);
  if (!info.cuda_compiled) {
    EXPECT_FALSE(info.cuda_available);
  }
}

}  // namespace
