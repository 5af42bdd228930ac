// Replay tables: mlforge::replay::Table for reactor.engine.replay. Arrays are borrowed in place
// (the facade allocates outputs); every call that can block or copy runs without the GIL.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "array.h"
#include "mlforge/error.h"
#include "mlforge/replay.h"

namespace py = pybind11;
using mlforge::replay::RateLimiter;
using mlforge::replay::Selector;
using mlforge::replay::Table;
using mlforge::replay::TableConfig;

namespace reactor_bindings {
namespace {

using FieldTuple = std::tuple<std::string, std::string, std::vector<std::int64_t>>;
using LimiterTuple = std::tuple<double, std::int64_t, double, double>;

mlforge::DType dtype_named(const std::string& name) {
  for (int code = 0; code <= static_cast<int>(mlforge::DType::kFloat64); ++code) {
    const auto dtype = static_cast<mlforge::DType>(code);
    if (name == mlforge::dtype_name(dtype)) return dtype;
  }
  throw mlforge::InvalidArgument("[replay.table] unsupported field dtype '" + name + "'");
}

Selector selector_named(const std::string& name, const char* what) {
  for (int code = 0; code <= static_cast<int>(Selector::kReservoir); ++code) {
    if (name == mlforge::replay::selector_name(static_cast<Selector>(code))) return static_cast<Selector>(code);
  }
  throw mlforge::InvalidArgument(std::string("[replay.table] unknown ") + what + " '" + name + "'");
}

LimiterTuple as_tuple(const RateLimiter& r) { return {r.samples_per_insert, r.min_size_to_sample, r.min_diff, r.max_diff}; }

// Borrowed arrays for a list of columns (or none) and their views, kept together while in use.
struct Columns {
  std::vector<BorrowedArray> arrays;
  std::vector<mlforge::ArrayView> views;
  const mlforge::ArrayView* data() const { return views.empty() ? nullptr : views.data(); }
};

Columns borrow_columns(const py::object& list, const char* op, Access access) {
  Columns columns;
  if (list.is_none()) return columns;
  for (auto item : list.cast<py::list>()) {
    columns.arrays.push_back(borrow_array(item, op, "columns", access));
    columns.views.push_back(columns.arrays.back().view());
  }
  return columns;
}

// The engine takes raw pointers for per-item vectors: check dtype, rank and length here.
void check_vector(const BorrowedArray& array, mlforge::DType dtype, std::int64_t n, const char* op, const char* name) {
  const auto& v = array.view();
  MLFORGE_CHECK(v.dtype() == dtype && v.ndim() == 1 && v.shape(0) == n && v.is_contiguous() &&
                    v.device().type == mlforge::DeviceType::kCPU,
                InvalidArgument, "[", op, "] ", name, ": expected a contiguous 1-D CPU ", mlforge::dtype_name(dtype),
                " array of length ", n, ", got ", mlforge::dtype_name(v.dtype()), " with ", v.ndim(), " dims",
                v.ndim() >= 1 ? " and length " + std::to_string(v.shape(0)) : std::string());
}

template <class T>
T* optional_pointer(const BorrowedArray& array) { return static_cast<T*>(array.view().data()); }

py::dict config_dict(const TableConfig& c) {
  py::list fields;
  for (const auto& f : c.fields) fields.append(py::make_tuple(f.name, mlforge::dtype_name(f.dtype), f.shape));
  py::dict d;
  d["capacity"] = c.capacity;
  d["fields"] = fields;
  d["sampler"] = mlforge::replay::selector_name(c.sampler);
  d["remover"] = mlforge::replay::selector_name(c.remover);
  d["alpha"] = c.alpha;
  d["beta"] = c.beta;
  d["epsilon"] = c.epsilon;
  d["default_priority"] = c.default_priority;
  d["max_times_sampled"] = c.max_times_sampled;
  d["rate_limiter"] = as_tuple(c.rate_limiter);
  d["seed"] = c.seed;
  d["episode_end_field"] = c.episode_end_field;
  d["sequence_length"] = c.sequence_length;
  return d;
}

}  // namespace

void init_replay(py::module_& m) {
  auto r = m.def_submodule("replay", "Replay tables (mlforge/replay.h).");
  r.def("limiter_min_size", [](std::int64_t n) { return as_tuple(RateLimiter::min_size(n)); });
  r.def("limiter_sample_to_insert_ratio", [](double spi, std::int64_t min_size, double error_buffer) {
    return as_tuple(RateLimiter::sample_to_insert_ratio(spi, min_size, error_buffer));
  });
  r.def("limiter_queue", [](std::int64_t n) { return as_tuple(RateLimiter::queue(n)); });

  py::class_<Table>(r, "Table")
      .def(py::init([](std::int64_t capacity, const std::vector<FieldTuple>& fields, const std::string& sampler,
                       const std::string& remover, double alpha, double beta, double epsilon, double default_priority,
                       std::int64_t max_times_sampled, const LimiterTuple& limiter, std::uint64_t seed,
                       const std::string& episode_end_field, std::int64_t sequence_length) {
             TableConfig c;
             c.capacity = capacity;
             for (const auto& [name, dtype, shape] : fields) c.fields.push_back({name, dtype_named(dtype), shape});
             c.sampler = selector_named(sampler, "sampler");
             c.remover = selector_named(remover, "remover");
             c.alpha = alpha;
             c.beta = beta;
             c.epsilon = epsilon;
             c.default_priority = default_priority;
             c.max_times_sampled = max_times_sampled;
             std::tie(c.rate_limiter.samples_per_insert, c.rate_limiter.min_size_to_sample, c.rate_limiter.min_diff,
                      c.rate_limiter.max_diff) = limiter;
             c.seed = seed;
             c.episode_end_field = episode_end_field;
             c.sequence_length = sequence_length;
             py::gil_scoped_release nogil;  // allocating a large table takes a while
             return std::make_unique<Table>(std::move(c));
           }),
           py::arg("capacity"), py::arg("fields"), py::arg("sampler"), py::arg("remover"), py::arg("alpha"),
           py::arg("beta"), py::arg("epsilon"), py::arg("default_priority"), py::arg("max_times_sampled"),
           py::arg("rate_limiter"), py::arg("seed"), py::arg("episode_end_field"), py::arg("sequence_length"))
      .def("config", [](const Table& t) { return config_dict(t.config()); })
      .def("size", &Table::size)
      .def("sampling_mass",
           [](const Table& t) {
             const auto m = t.sampling_mass();
             return py::make_tuple(m.size, m.total_weight, m.min_weight);
           })
      .def("stats",
           [](const Table& t) {
             const auto s = t.stats();
             py::dict d;
             d["size"] = s.size;
             d["inserts"] = s.inserts;
             d["samples"] = s.samples;
             d["stale_updates"] = s.stale_updates;
             d["rejected_inserts"] = s.rejected_inserts;
             d["memory_bytes"] = s.memory_bytes;
             return d;
           })
      .def("insert",
           [](Table& t, const py::list& columns, const py::object& priorities, py::handle keys, double timeout) {
             constexpr const char* op = "replay.insert";
             auto in = borrow_columns(columns, op, Access::kRead);
             const auto out = borrow_array(keys, op, "keys", Access::kWrite);
             BorrowedArray p;
             const bool has_priorities = !priorities.is_none();
             if (has_priorities) p = borrow_array(priorities, op, "priorities", Access::kRead);
             const auto n = out.view().ndim() == 1 ? out.view().shape(0) : -1;
             check_vector(out, mlforge::DType::kUInt64, n, op, "keys");
             if (has_priorities) check_vector(p, mlforge::DType::kFloat64, n, op, "priorities");
             py::gil_scoped_release nogil;
             t.insert(in.data(), static_cast<std::int64_t>(in.views.size()),
                      has_priorities ? optional_pointer<const double>(p) : nullptr, n,
                      optional_pointer<std::uint64_t>(out), timeout);
           })
      .def("sample",
           [](Table& t, std::int64_t batch, const py::object& columns, py::handle keys, py::handle probabilities,
              py::handle weights, double timeout) {
             constexpr const char* op = "replay.sample";
             auto out = borrow_columns(columns, op, Access::kWrite);
             const auto k = borrow_array(keys, op, "keys", Access::kWrite);
             const auto p = borrow_array(probabilities, op, "probabilities", Access::kWrite);
             const auto w = borrow_array(weights, op, "weights", Access::kWrite);
             check_vector(k, mlforge::DType::kUInt64, batch, op, "keys");
             check_vector(p, mlforge::DType::kFloat64, batch, op, "probabilities");
             check_vector(w, mlforge::DType::kFloat64, batch, op, "weights");
             py::gil_scoped_release nogil;
             t.sample(batch, {out.data(), optional_pointer<std::uint64_t>(k), optional_pointer<double>(p),
                              optional_pointer<double>(w)},
                      timeout);
           })
      .def("sample_arrays",
           // Allocates the outputs itself: one call instead of borrowing eight caller-made arrays.
           [](Table& t, std::int64_t batch, double timeout) {
             MLFORGE_CHECK(batch >= 1, InvalidArgument, "[replay.sample] batch_size must be >= 1, got ", batch);
             const auto& fields = t.config().fields;
             py::list arrays;
             std::vector<mlforge::ArrayView> views;
             for (const auto& field : fields) {
               std::vector<py::ssize_t> shape{static_cast<py::ssize_t>(batch)};
               std::vector<std::int64_t> dims{batch};
               for (auto extent : field.shape) {
                 shape.push_back(static_cast<py::ssize_t>(extent));
                 dims.push_back(extent);
               }
               py::array array(py::dtype(mlforge::dtype_name(field.dtype)), shape);
               views.emplace_back(array.mutable_data(), field.dtype, static_cast<int>(dims.size()), dims.data(), nullptr);
               arrays.append(array);
             }
             py::array_t<std::uint64_t> keys(batch);
             py::array_t<double> probabilities(batch), weights(batch);
             {
               py::gil_scoped_release nogil;
               t.sample(batch, {views.data(), keys.mutable_data(), probabilities.mutable_data(), weights.mutable_data()},
                        timeout);
             }
             return py::make_tuple(arrays, keys, probabilities, weights);
           })
      .def("sample_sequences",
           [](Table& t, std::int64_t batch, const py::object& columns, py::handle keys, py::handle probabilities,
              double timeout) {
             constexpr const char* op = "replay.sample_sequences";
             auto out = borrow_columns(columns, op, Access::kWrite);
             const auto k = borrow_array(keys, op, "keys", Access::kWrite);
             const auto p = borrow_array(probabilities, op, "probabilities", Access::kWrite);
             check_vector(k, mlforge::DType::kUInt64, batch * t.config().sequence_length, op, "keys");
             check_vector(p, mlforge::DType::kFloat64, batch, op, "probabilities");
             py::gil_scoped_release nogil;
             t.sample_sequences(batch, {out.data(), optional_pointer<std::uint64_t>(k), optional_pointer<double>(p), nullptr},
                                timeout);
           })
      .def("sample_nstep",
           [](Table& t, std::int64_t batch, std::int64_t n, double gamma, const std::string& reward_field,
              const py::object& columns, py::handle keys, py::handle probabilities, py::handle weights,
              py::handle returns, py::handle discounts, py::handle last_keys, double timeout) {
             constexpr const char* op = "replay.sample_nstep";
             auto out = borrow_columns(columns, op, Access::kWrite);
             const auto k = borrow_array(keys, op, "keys", Access::kWrite);
             const auto p = borrow_array(probabilities, op, "probabilities", Access::kWrite);
             const auto w = borrow_array(weights, op, "weights", Access::kWrite);
             const auto g = borrow_array(returns, op, "returns", Access::kWrite);
             const auto d = borrow_array(discounts, op, "discounts", Access::kWrite);
             const auto l = borrow_array(last_keys, op, "last_keys", Access::kWrite);
             check_vector(k, mlforge::DType::kUInt64, batch, op, "keys");
             check_vector(l, mlforge::DType::kUInt64, batch, op, "last_keys");
             check_vector(p, mlforge::DType::kFloat64, batch, op, "probabilities");
             check_vector(w, mlforge::DType::kFloat64, batch, op, "weights");
             check_vector(g, mlforge::DType::kFloat64, batch, op, "returns");
             check_vector(d, mlforge::DType::kFloat64, batch, op, "discounts");
             py::gil_scoped_release nogil;
             t.sample_nstep(batch, n, gamma, reward_field,
                            {out.data(), optional_pointer<std::uint64_t>(k), optional_pointer<double>(p),
                             optional_pointer<double>(w)},
                            optional_pointer<double>(g), optional_pointer<double>(d), optional_pointer<std::uint64_t>(l),
                            timeout);
           })
      .def("gather",
           [](const Table& t, py::handle keys, const py::list& columns) {
             constexpr const char* op = "replay.gather";
             const auto k = borrow_array(keys, op, "keys", Access::kRead);
             auto out = borrow_columns(columns, op, Access::kWrite);
             const auto n = k.view().ndim() == 1 ? k.view().shape(0) : -1;
             check_vector(k, mlforge::DType::kUInt64, n, op, "keys");
             py::gil_scoped_release nogil;
             t.gather(optional_pointer<const std::uint64_t>(k), k.view().shape(0), out.data(),
                      static_cast<std::int64_t>(out.views.size()));
           })
      .def("update_priorities",
           [](Table& t, py::handle keys, py::handle priorities) {
             constexpr const char* op = "replay.update_priorities";
             const auto k = borrow_array(keys, op, "keys", Access::kRead);
             const auto p = borrow_array(priorities, op, "priorities", Access::kRead);
             const auto n = k.view().ndim() == 1 ? k.view().shape(0) : -1;
             check_vector(k, mlforge::DType::kUInt64, n, op, "keys");
             check_vector(p, mlforge::DType::kFloat64, n, op, "priorities");
             py::gil_scoped_release nogil;
             return t.update_priorities(optional_pointer<const std::uint64_t>(k), optional_pointer<const double>(p),
                                        k.view().shape(0));
           })
      .def("close", &Table::close, py::call_guard<py::gil_scoped_release>())
      .def("save", &Table::save, py::call_guard<py::gil_scoped_release>())
      .def_static("load", &Table::load, py::call_guard<py::gil_scoped_release>());
}

}  // namespace reactor_bindings
