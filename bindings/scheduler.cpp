// The scheduling policy engine (mlforge/scheduler.h) for reactor.engine.scheduler. Specs cross as
// plain tuples built by the facade; everything that loops over jobs runs without the GIL.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "mlforge/error.h"
#include "mlforge/scheduler.h"

namespace py = pybind11;
namespace ms = mlforge::scheduler;

namespace reactor_bindings {
namespace {

using Custom = std::vector<std::pair<std::string, double>>;
using Windows = std::vector<std::pair<double, double>>;
// (id, priority, tenant, cpus, memory, gpus, custom, gang_size, dependencies, submit_time,
//  earliest_start, deadline, expected_run_time, max_run_time, windows, preemptible, on_dependency_failure)
using JobTuple = std::tuple<std::int64_t, double, std::string, double, double, double, Custom, std::int32_t,
                            std::vector<std::int64_t>, double, double, double, double, double, Windows, bool,
                            std::string>;

ms::JobState state_named(const std::string& name, const char* op) {
  for (auto state : {ms::JobState::kPending, ms::JobState::kRunning, ms::JobState::kSucceeded, ms::JobState::kFailed,
                     ms::JobState::kCancelled}) {
    if (name == ms::job_state_name(state)) return state;
  }
  throw mlforge::InvalidArgument(std::string("[") + op + "] unknown job state '" + name + "'");
}

ms::JobSpec to_spec(const JobTuple& t) {
  ms::JobSpec j;
  const auto& [id, priority, tenant, cpus, memory, gpus, custom, gang, deps, submit, earliest, deadline, expected,
               max_run, windows, preemptible, on_failure] = t;
  j.id = id;
  j.priority = priority;
  j.tenant = tenant;
  j.resources = {cpus, memory, gpus, custom};
  j.gang_size = gang;
  j.dependencies = deps;
  j.submit_time = submit;
  j.earliest_start = earliest;
  j.deadline = deadline;
  j.expected_run_time = expected;
  j.max_run_time = max_run;
  for (const auto& [start, end] : windows) j.windows.push_back({start, end});
  j.preemptible = preemptible;
  if (on_failure == "fail") {
    j.on_dependency_failure = ms::OnDependencyFailure::kFail;
  } else if (on_failure == "hold") {
    j.on_dependency_failure = ms::OnDependencyFailure::kHold;
  } else {
    throw mlforge::InvalidArgument("[scheduler.submit] job " + std::to_string(id) +
                                   ": on_dependency_failure must be 'fail' or 'hold', got '" + on_failure + "'");
  }
  return j;
}

}  // namespace

void init_scheduler(py::module_& m) {
  auto s = m.def_submodule("scheduler", "Scheduling policy engine (mlforge/scheduler.h).");
  py::class_<ms::Scheduler>(s, "Scheduler")
      .def(py::init([](double aging_per_hour, double max_aging, double fairshare_weight, const Custom& tenant_weights,
                       bool backfill, bool preemption, double default_max_run_time) {
             ms::SchedulerConfig c;
             c.aging_per_hour = aging_per_hour;
             c.max_aging = max_aging;
             c.fairshare_weight = fairshare_weight;
             c.tenant_weights = tenant_weights;
             c.backfill = backfill;
             c.preemption = preemption;
             c.default_max_run_time = default_max_run_time;
             return new ms::Scheduler(std::move(c));
           }),
           py::arg("aging_per_hour"), py::arg("max_aging"), py::arg("fairshare_weight"), py::arg("tenant_weights"),
           py::arg("backfill"), py::arg("preemption"), py::arg("default_max_run_time"))
      .def(
          "add_node",
          [](ms::Scheduler& self, std::int64_t id, double cpus, double memory, double gpus, const Custom& custom) {
            self.add_node({id, {cpus, memory, gpus, custom}});
          },
          py::arg("id"), py::arg("cpus"), py::arg("memory"), py::arg("gpus"), py::arg("custom"))
      .def(
          "submit",
          [](ms::Scheduler& self, const std::vector<JobTuple>& jobs) {
            py::gil_scoped_release nogil;
            std::vector<ms::JobSpec> specs;
            specs.reserve(jobs.size());
            for (const auto& t : jobs) specs.push_back(to_spec(t));
            self.submit(specs);
          },
          py::arg("jobs"))
      .def(
          "add_finished",
          [](ms::Scheduler& self, std::int64_t id, const std::string& state) {
            self.add_finished(id, state_named(state, "scheduler.add_finished"));
          },
          py::arg("id"), py::arg("state"))
      .def("restore_running", &ms::Scheduler::restore_running, py::arg("id"), py::arg("nodes"), py::arg("start_time"))
      .def(
          "finish",
          [](ms::Scheduler& self, std::int64_t id, const std::string& outcome) {
            self.finish(id, state_named(outcome, "scheduler.finish"));
          },
          py::arg("id"), py::arg("outcome"))
      .def("requeue", &ms::Scheduler::requeue, py::arg("id"), py::arg("earliest_start"))
      .def(
          "schedule",
          [](ms::Scheduler& self, double now) {
            std::vector<ms::Decision> decisions;
            {
              py::gil_scoped_release nogil;
              decisions = self.schedule(now);
            }
            // Tuples shaped like reactor.engine.scheduler.Decision, built directly (one action
            // string object per kind, nodes as a tuple): a pass may decide thousands of starts.
            const py::str actions[] = {py::str(ms::action_name(ms::Action::kStart)),
                                       py::str(ms::action_name(ms::Action::kPreempt)),
                                       py::str(ms::action_name(ms::Action::kFail))};
            const py::str no_reason("");
            py::list out(decisions.size());
            for (std::size_t i = 0; i < decisions.size(); ++i) {
              const auto& d = decisions[i];
              py::tuple nodes(d.nodes.size());
              for (std::size_t k = 0; k < d.nodes.size(); ++k) nodes[k] = py::int_(d.nodes[k]);
              out[i] = py::make_tuple(actions[static_cast<int>(d.action)], d.job, std::move(nodes),
                                      d.reason.empty() ? no_reason : py::str(d.reason));
            }
            return out;
          },
          py::arg("now"))
      .def(
          "state", [](const ms::Scheduler& self, std::int64_t id) { return ms::job_state_name(self.state(id)); },
          py::arg("id"))
      .def("job_nodes", &ms::Scheduler::job_nodes, py::arg("id"))
      .def("reservation",
           [](const ms::Scheduler& self) {
             const auto r = self.reservation();
             return std::make_tuple(r.job, r.time, r.nodes);
           })
      .def("stats",
           [](const ms::Scheduler& self) {
             const auto st = self.stats();
             return std::make_tuple(st.nodes, st.pending, st.running, st.finished);
           })
      .def("tenant_shares", [](const ms::Scheduler& self) {
        std::vector<std::tuple<std::string, double, double>> out;
        for (const auto& t : self.tenant_shares()) out.emplace_back(t.tenant, t.weight, t.dominant_share);
        return out;
      });
}

}  // namespace reactor_bindings
