#include <pybind11/pybind11.h>

#include "mlforge/device.h"
#include "mlforge/version.h"

namespace py = pybind11;

namespace reactor_bindings {

void init_build_info(py::module_& m) {
  m.def("version", &mlforge::version, "MLForge library version.");
  m.def(
      "build_info",
      [] {
        const mlforge::BuildInfo info = mlforge::build_info();
        py::dict out;
        out["version"] = info.version;
        out["compiler"] = info.compiler;
        out["cxx_standard"] = info.cxx_standard;
        out["build_type"] = info.build_type;
        out["simd"] = info.simd;
        out["cuda_compiled"] = info.cuda_compiled;
        out["cuda_available"] = info.cuda_available;
        out["cuda_device_count"] = info.cuda_device_count;
        out["num_threads"] = info.num_threads;
        return out;
      },
      "Build and machine information as a dict.");
  m.def("cuda_available", &mlforge::cuda_available, "True when CUDA is compiled in and a GPU is usable.");
  m.def("cuda_compiled", &mlforge::cuda_compiled, "True when the engine was built with CUDA kernels.");
  m.def("cuda_device_count", &mlforge::cuda_device_count, "Number of usable CUDA devices.");
}

}  // namespace reactor_bindings
