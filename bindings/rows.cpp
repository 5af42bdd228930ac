#include "rows.h"

#include <string>

#include "mlforge/error.h"

namespace reactor_bindings {

Rows borrow_rows(py::handle updates, const char* op, Access access, std::uintptr_t stream) {
  Rows rows;
  if (py::isinstance<py::list>(updates) || py::isinstance<py::tuple>(updates)) {
    const auto items = py::reinterpret_borrow<py::sequence>(updates);
    for (std::size_t k = 0; k < items.size(); ++k) {
      const std::string name = "updates[" + std::to_string(k) + "]";
      rows.owners.push_back(borrow_array(items[k], op, name.c_str(), access, stream));
      rows.views.push_back(rows.owners.back().view());
    }
    return rows;
  }
  rows.owners.push_back(borrow_array(updates, op, "updates", access, stream));
  const mlforge::ArrayView& all = rows.owners.back().view();
  MLFORGE_CHECK(all.ndim() == 2, InvalidArgument, "[", op, "] updates: expected a (K, D) array or a list of K vectors, got ",
                all.describe());
  all.require_contiguous(op, "updates");
  const std::int64_t length = all.shape(1);
  for (std::int64_t k = 0; k < all.shape(0); ++k) {
    rows.views.emplace_back(static_cast<char*>(all.data()) + k * length * static_cast<std::int64_t>(mlforge::dtype_size(all.dtype())),
                            all.dtype(), std::initializer_list<std::int64_t>{length}, all.device(), all.writable());
  }
  return rows;
}

}  // namespace reactor_bindings
