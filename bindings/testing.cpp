// Test support: lets the Python suite check that every engine error type is translated to the
// right reactor.errors class. Lives in the private submodule reactor._mlforge.testing.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "array.h"
#include "mlforge/error.h"

namespace py = pybind11;

namespace reactor_bindings {

void init_testing(py::module_& m) {
  py::module_ testing = m.def_submodule("testing", "Hooks for Reactor's own test suite.");
  testing.def(
      "raise_error",
      [](const std::string& kind, const std::string& message) {
        if (kind == "InvalidArgument") throw mlforge::InvalidArgument(message);
        if (kind == "OutOfRange") throw mlforge::OutOfRange(message);
        if (kind == "Timeout") throw mlforge::Timeout(message);
        if (kind == "Unavailable") throw mlforge::Unavailable(message);
        if (kind == "CapacityExceeded") throw mlforge::CapacityExceeded(message);
        if (kind == "CorruptData") throw mlforge::CorruptData(message);
        throw mlforge::InvalidArgument("[testing.raise_error] unknown kind '" + kind + "'");
      },
      py::arg("kind"), py::arg("message"), "Throw the named mlforge error with the given message.");
  testing.def(
      "borrow_address",
      [](py::handle x) {
        const BorrowedArray borrowed = borrow_array(x, "testing.borrow_address", "x", Access::kRead);
        return reinterpret_cast<std::uintptr_t>(borrowed.view().data());
      },
      py::arg("x"),
      "Borrow x exactly as an engine call does and return the address the engine would read: the "
      "zero-copy check for tests and the bare boundary cost for benchmarks.");
}

}  // namespace reactor_bindings
