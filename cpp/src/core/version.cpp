#include "mlforge/version.h"

#include <string>

#include "core/cpu_features.h"
#include "mlforge/device.h"
#include "mlforge/parallel.h"

namespace mlforge {
namespace {

std::string compiler_name() {
#if defined(__clang__)
  return "Clang " __clang_version__;
#elif defined(__GNUC__)
  return "GCC " + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
         std::to_string(__GNUC_PATCHLEVEL__);
#elif defined(_MSC_VER)
  return "MSVC " + std::to_string(_MSC_VER);
#else
  return "unknown";
#endif
}

std::string cxx_standard() {
  // __cplusplus of the engine's own translation units, not the consumer's.
  if (__cplusplus > 202002L) return "C++23";
  if (__cplusplus >= 202002L) return "C++20";
  return "C++17";
}

}  // namespace

const char* version() noexcept { return MLFORGE_VERSION_STRING; }

BuildInfo build_info() {
  BuildInfo info;
  info.version = version();
  info.compiler = compiler_name();
  info.cxx_standard = cxx_standard();
  info.build_type = MLFORGE_BUILD_TYPE;
  info.simd = detail::detect_simd();
  info.cuda_compiled = cuda_compiled();
  info.cuda_device_count = cuda_device_count();
  info.cuda_available = info.cuda_device_count > 0;
  info.num_threads = num_threads();
  return info;
}

}  // namespace mlforge
