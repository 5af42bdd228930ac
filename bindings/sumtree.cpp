// Sum-tree kernels for prioritized sampling; the tree is a caller-owned float64 array.
#include <pybind11/pybind11.h>

#include <cstdint>

#include "array.h"
#include "mlforge/kernels.h"

namespace py = pybind11;

namespace reactor_bindings {

void init_sumtree(py::module_& m) {
  m.def(
      "sumtree_update",
      [](py::handle tree, py::handle indices, py::handle priorities, std::uintptr_t stream) {
        constexpr const char* op = "kernels.sumtree_update";
        const auto t = borrow_array(tree, op, "tree", Access::kWrite, stream);
        const auto i = borrow_array(indices, op, "indices", Access::kRead, stream);
        const auto p = borrow_array(priorities, op, "priorities", Access::kRead, stream);
        py::gil_scoped_release nogil;
        mlforge::sumtree_update(t.view(), i.view(), p.view(),
                 as_stream(stream));
      },
      py::arg("tree"), py::arg("indices"), py::arg("priorities"), py::arg("stream") = 0, "Set leaves and recompute their ancestors.");
  m.def(
      "sumtree_search",
      [](py::handle tree, py::handle values, py::handle out_indices, std::uintptr_t stream) {
        constexpr const char* op = "kernels.sumtree_search";
        const auto t = borrow_array(tree, op, "tree", Access::kRead, stream);
        const auto v = borrow_array(values, op, "values", Access::kRead, stream);
        const auto o = borrow_array(out_indices, op, "out_indices", Access::kWrite, stream);
        py::gil_scoped_release nogil;
        mlforge::sumtree_search(t.view(), v.view(), o.view(),
                 as_stream(stream));
      },
      py::arg("tree"), py::arg("values"), py::arg("out_indices"), py::arg("stream") = 0, "Leaf index of each prefix-sum value.");
}

}  // namespace reactor_bindings
