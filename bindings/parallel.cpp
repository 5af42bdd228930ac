#include <pybind11/pybind11.h>

#include "mlforge/parallel.h"

namespace py = pybind11;

namespace reactor_bindings {

void init_parallel(py::module_& m) {
  m.def("num_threads", &mlforge::num_threads, "Size of the engine's shared thread pool.");
  // Resizing waits for running engine work, so it must not hold the GIL.
  m.def("set_num_threads", &mlforge::set_num_threads, py::arg("n"), py::call_guard<py::gil_scoped_release>(),
        "Resize the shared thread pool (1 <= n <= 1024).");
}

}  // namespace reactor_bindings
