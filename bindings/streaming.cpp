// The streaming aggregator (mlforge::StreamingAggregator) for reactor.federated.
#include <pybind11/pybind11.h>

#include "array.h"
#include "mlforge/aggregate.h"

namespace py = pybind11;

namespace reactor_bindings {

void init_streaming(py::module_& m) {
  py::class_<mlforge::StreamingAggregator>(m, "StreamingAggregator")
      .def(py::init<std::int64_t, double>(), py::arg("dim"), py::arg("clip_norm") = 0.0)
      .def(
          "add",
          [](mlforge::StreamingAggregator& self, py::handle update, double weight) {
            const auto u = borrow_array(update, "aggregate.streaming.add", "update", Access::kRead);
            py::gil_scoped_release nogil;
            return self.add(u.view(), weight);
          },
          py::arg("update"), py::arg("weight") = 1.0)
      .def_property_readonly("dim", &mlforge::StreamingAggregator::dim)
      .def_property_readonly("count", &mlforge::StreamingAggregator::count)
      .def_property_readonly("total_weight", &mlforge::StreamingAggregator::total_weight)
      .def(
          "mean",
          [](const mlforge::StreamingAggregator& self, py::handle out) {
            const auto o = borrow_array(out, "aggregate.streaming.mean", "out", Access::kWrite);
            py::gil_scoped_release nogil;
            self.mean(o.view());
          },
          py::arg("out"))
      .def(
          "sum",
          [](const mlforge::StreamingAggregator& self, py::handle out) {
            const auto o = borrow_array(out, "aggregate.streaming.sum", "out", Access::kWrite);
            py::gil_scoped_release nogil;
            self.sum(o.view());
          },
          py::arg("out"))
      .def("reset", &mlforge::StreamingAggregator::reset);
}

}  // namespace reactor_bindings
