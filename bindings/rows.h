// Client updates as K borrowed rows: one (K, D) array or a list of K 1-D arrays, never copied.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <vector>

#include "array.h"
#include "mlforge/array.h"

namespace reactor_bindings {

struct Rows {
  std::vector<BorrowedArray> owners;
  std::vector<mlforge::ArrayView> views;
};

// Errors name `op` and updates[k] (InvalidArgumentError), as borrow_array does.
Rows borrow_rows(py::handle updates, const char* op, Access access, std::uintptr_t stream = 0);

}  // namespace reactor_bindings
