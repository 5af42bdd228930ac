#include <pybind11/pybind11.h>

#include <cstdint>

#include "array.h"
#include "mlforge/error.h"
#include "mlforge/random.h"

namespace py = pybind11;

namespace reactor_bindings {
namespace {

using FillFn = void (*)(const mlforge::ArrayView&, std::uint64_t, std::uint64_t, std::uint64_t, double, double,
                        mlforge::Stream);

// Fills a caller-owned array (CPU, or CUDA on `cuda_stream`) in place.
void fill_into(FillFn fill, const char* op, py::handle out, std::uint64_t seed, std::uint64_t stream,
               std::uint64_t offset, double a, double b, std::uintptr_t cuda_stream) {
  const BorrowedArray borrowed = borrow_array(out, op, "out", Access::kWrite, cuda_stream);
  py::gil_scoped_release nogil;
  fill(borrowed.view(), seed, stream, offset, a, b, as_stream(cuda_stream));
}

// Allocates a new engine-owned array of n values and returns it to numpy without a copy.
py::array generate(FillFn fill, const char* op, std::int64_t n, std::uint64_t seed, std::uint64_t stream,
                   std::uint64_t offset, double a, double b, py::handle dtype) {
  MLFORGE_CHECK(n >= 0, InvalidArgument, "[", op, "] n must be >= 0, got ", n);
  mlforge::OwnedArray result(float_dtype_from(dtype, op), {n});
  {
    py::gil_scoped_release nogil;
    fill(result.view(), seed, stream, offset, a, b, mlforge::Stream{});
  }
  return to_numpy(std::move(result));
}

}  // namespace

void init_random(py::module_& m) {
  m.def(
      "fill_uniform",
      [](py::handle out, std::uint64_t seed, std::uint64_t stream, std::uint64_t offset, double low, double high,
         std::uintptr_t cuda_stream) {
        fill_into(&mlforge::fill_uniform, "random.uniform", out, seed, stream, offset, low, high, cuda_stream);
      },
      py::arg("out"), py::arg("seed"), py::arg("stream"), py::arg("offset"), py::arg("low"), py::arg("high"),
      py::arg("cuda_stream") = 0,
      "Fill a float32/float64 array in place with uniform values in [low, high).");
  m.def(
      "fill_normal",
      [](py::handle out, std::uint64_t seed, std::uint64_t stream, std::uint64_t offset, double mean, double std,
         std::uintptr_t cuda_stream) {
        fill_into(&mlforge::fill_normal, "random.normal", out, seed, stream, offset, mean, std, cuda_stream);
      },
      py::arg("out"), py::arg("seed"), py::arg("stream"), py::arg("offset"), py::arg("mean"), py::arg("std"),
      py::arg("cuda_stream") = 0,
      "Fill a float32/float64 array in place with normal values.");
  m.def(
      "uniform",
      [](std::int64_t n, std::uint64_t seed, std::uint64_t stream, std::uint64_t offset, double low, double high,
         py::handle dtype) {
        return generate(&mlforge::fill_uniform, "random.uniform", n, seed, stream, offset, low, high, dtype);
      },
      py::arg("n"), py::arg("seed"), py::arg("stream"), py::arg("offset"), py::arg("low"), py::arg("high"),
      py::arg("dtype"), "New array of n uniform values in [low, high).");
  m.def(
      "normal",
      [](std::int64_t n, std::uint64_t seed, std::uint64_t stream, std::uint64_t offset, double mean, double std,
         py::handle dtype) {
        return generate(&mlforge::fill_normal, "random.normal", n, seed, stream, offset, mean, std, dtype);
      },
      py::arg("n"), py::arg("seed"), py::arg("stream"), py::arg("offset"), py::arg("mean"), py::arg("std"),
      py::arg("dtype"), "New array of n normal values.");
}

}  // namespace reactor_bindings
