// reactor._mlforge: registers the engine's exceptions and each component's bindings. No logic here.
#include <pybind11/pybind11.h>

#include "mlforge/error.h"

namespace py = pybind11;

namespace reactor_bindings {
void init_aggregate(py::module_& m);
void init_array(py::module_& m);
void init_build_info(py::module_& m);
void init_dedup(py::module_& m);
void init_dedup_index(py::module_& m);
void init_dedup_analysis(py::module_& m);
void init_hashing(py::module_& m);
void init_kernels(py::module_& m);
void init_parallel(py::module_& m);
void init_privacy(py::module_& m);
void init_random(py::module_& m);
void init_replay(py::module_& m);
void init_rules(py::module_& m);
void init_scheduler(py::module_& m);
void init_secure_agg(py::module_& m);
void init_streaming(py::module_& m);
void init_sumtree(py::module_& m);
void init_testing(py::module_& m);
void init_training(py::module_& m);
}  // namespace reactor_bindings

namespace {

// Raises the reactor.errors class `name` (a ReactorError subclass that also derives from the
// matching built-in, e.g. ValueError) with the engine's message.
void raise_reactor_error(const char* name, const char* message) {
  const py::object cls = py::module_::import("reactor.errors").attr(name);
  PyErr_SetString(cls.ptr(), message);
}

void register_errors() {
  py::register_exception_translator([](std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const mlforge::InvalidArgument& e) {
      raise_reactor_error("InvalidArgumentError", e.what());
    } catch (const mlforge::OutOfRange& e) {
      raise_reactor_error("OutOfRangeError", e.what());
    } catch (const mlforge::Timeout& e) {
      raise_reactor_error("TimeoutError", e.what());
    } catch (const mlforge::Unavailable& e) {
      raise_reactor_error("UnavailableError", e.what());
    } catch (const mlforge::CapacityExceeded& e) {
      raise_reactor_error("CapacityExceededError", e.what());
    } catch (const mlforge::CorruptData& e) {
      raise_reactor_error("CorruptDataError", e.what());
    }
  });
}

}  // namespace

PYBIND11_MODULE(_mlforge, m) {
  m.doc() = "MLForge engine bindings (private; use reactor.engine).";
  register_errors();
  reactor_bindings::init_aggregate(m);
  reactor_bindings::init_array(m);
  reactor_bindings::init_build_info(m);
  reactor_bindings::init_dedup(m);
  reactor_bindings::init_dedup_index(m);
  reactor_bindings::init_dedup_analysis(m);
  reactor_bindings::init_hashing(m);
  reactor_bindings::init_kernels(m);
  reactor_bindings::init_parallel(m);
  reactor_bindings::init_privacy(m);
  reactor_bindings::init_random(m);
  reactor_bindings::init_replay(m);
  reactor_bindings::init_rules(m);
  reactor_bindings::init_scheduler(m);
  reactor_bindings::init_secure_agg(m);
  reactor_bindings::init_streaming(m);
  reactor_bindings::init_sumtree(m);
  reactor_bindings::init_testing(m);
  reactor_bindings::init_training(m);
}
