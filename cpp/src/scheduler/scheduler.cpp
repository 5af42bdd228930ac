// Scheduler's public members: locking, argument checks and state changes. The pass itself is in
// pass.cpp, placement in placement.cpp.
#include <cmath>
#include <mutex>

#include "mlforge/error.h"
#include "scheduler/state.h"

namespace mlforge::scheduler {

struct Scheduler::Impl {
  mutable std::mutex mutex;
  detail::State state;
};

const char* job_state_name(JobState state) noexcept {
  switch (state) {
    case JobState::kPending: return "pending";
    case JobState::kRunning: return "running";
    case JobState::kSucceeded: return "succeeded";
    case JobState::kFailed: return "failed";
    case JobState::kCancelled: return "cancelled";
  }
  return "unknown";
}

const char* action_name(Action action) noexcept {
  switch (action) {
    case Action::kStart: return "start";
    case Action::kPreempt: return "preempt";
    case Action::kFail: return "fail";
  }
  return "unknown";
}

Scheduler::Scheduler(SchedulerConfig config) : impl_(std::make_unique<Impl>()) {
  detail::check_config(config);
  impl_->state.config = std::move(config);
  impl_->state.total_capacity.assign(detail::kCoreDims, 0.0);
}

Scheduler::~Scheduler() = default;

const SchedulerConfig& Scheduler::config() const noexcept { return impl_->state.config; }

void Scheduler::add_node(const NodeSpec& node) {
  std::lock_guard lock(impl_->mutex);
  auto& s = impl_->state;
  detail::check_resources(node.capacity, "[scheduler.add_node]", "node " + std::to_string(node.id));
  MLFORGE_CHECK(!s.node_index.count(node.id), InvalidArgument, "[scheduler.add_node] node id ", node.id,
                " is already in use");
  detail::Node n;
  n.id = node.id;
  n.capacity = s.dense(node.capacity);
  s.pad();  // a new custom resource widens the existing rows first
  s.free.insert(s.free.end(), n.capacity.begin(), n.capacity.end());
  s.node_index.emplace(node.id, static_cast<int>(s.nodes.size()));
  s.nodes.push_back(std::move(n));
  s.total_capacity.assign(s.dims(), 0.0);
  for (const auto& each : s.nodes) {
    for (int d = 0; d < s.dims(); ++d) s.total_capacity[d] += each.capacity[d];
  }
}

void Scheduler::submit(const JobSpec& job) { submit(std::vector<JobSpec>{job}); }

void Scheduler::submit(const std::vector<JobSpec>& jobs) {
  std::lock_guard lock(impl_->mutex);
  detail::add_jobs(impl_->state, jobs);
}

void Scheduler::add_finished(std::int64_t id, JobState state) {
  MLFORGE_CHECK(state == JobState::kSucceeded || state == JobState::kFailed || state == JobState::kCancelled,
                InvalidArgument, "[scheduler.add_finished] job ", id,
                ": state must be succeeded, failed or cancelled, got ", job_state_name(state));
  JobSpec spec;
  spec.id = id;
  std::lock_guard lock(impl_->mutex);
  detail::add_jobs(impl_->state, {spec});
  impl_->state.status.back() = state;
}

void Scheduler::restore_running(std::int64_t id, const std::vector<std::int64_t>& nodes, double start_time) {
  const char* op = "[scheduler.restore_running]";
  std::lock_guard lock(impl_->mutex);
  auto& s = impl_->state;
  const int j = s.find_job(id, op);
  MLFORGE_CHECK(s.status[j] == JobState::kPending, InvalidArgument, op, " job ", id, " must be pending, it is ",
                job_state_name(s.status[j]));
  MLFORGE_CHECK(std::isfinite(start_time), InvalidArgument, op, " job ", id, ": start_time must be finite, got ",
                start_time);
  MLFORGE_CHECK(nodes.size() == static_cast<std::size_t>(s.jobs[j].spec.gang_size), InvalidArgument, op, " job ", id,
                ": needs gang_size=", s.jobs[j].spec.gang_size, " nodes, got ", nodes.size());
  std::vector<int> list;
  for (auto node : nodes) {
    const int n = s.find_node(node, op);
    for (int seen : list) {
      MLFORGE_CHECK(seen != n, InvalidArgument, op, " job ", id, ": node ", node, " is listed twice");
    }
    list.push_back(n);
  }
  s.pad();
  s.allocate(j, list, start_time);
}

void Scheduler::finish(std::int64_t id, JobState outcome) {
  const char* op = "[scheduler.finish]";
  MLFORGE_CHECK(outcome == JobState::kSucceeded || outcome == JobState::kFailed || outcome == JobState::kCancelled,
                InvalidArgument, op, " job ", id, ": outcome must be succeeded, failed or cancelled, got ",
                job_state_name(outcome));
  std::lock_guard lock(impl_->mutex);
  auto& s = impl_->state;
  const int j = s.find_job(id, op);
  const JobState now = s.status[j];
  MLFORGE_CHECK(now == JobState::kRunning || now == JobState::kPending, InvalidArgument, op, " job ", id,
                " must be running or pending, it is ", job_state_name(now));
  if (now == JobState::kRunning) s.release(j);
  s.status[j] = outcome;
}

void Scheduler::requeue(std::int64_t id, double earliest_start) {
  const char* op = "[scheduler.requeue]";
  MLFORGE_CHECK(!std::isnan(earliest_start) && earliest_start != INFINITY, InvalidArgument, op, " job ", id,
                ": earliest_start must be finite or -inf, got ", earliest_start);
  std::lock_guard lock(impl_->mutex);
  auto& s = impl_->state;
  const int j = s.find_job(id, op);
  const JobState now = s.status[j];
  MLFORGE_CHECK(now != JobState::kSucceeded, InvalidArgument, op, " job ", id, " already succeeded");
  if (now == JobState::kRunning) s.release(j);
  s.status[j] = JobState::kPending;
  s.jobs[j].spec.earliest_start = earliest_start;
  s.keys[j].earliest_start = earliest_start;
}

std::vector<Decision> Scheduler::schedule(double now) {
  MLFORGE_CHECK(std::isfinite(now), InvalidArgument, "[scheduler.schedule] now must be finite, got ", now);
  std::lock_guard lock(impl_->mutex);
  impl_->state.pad();
  return detail::run_pass(impl_->state, now);
}

JobState Scheduler::state(std::int64_t id) const {
  std::lock_guard lock(impl_->mutex);
  const auto& s = impl_->state;
  return s.status[s.find_job(id, "[scheduler.state]")];
}

std::vector<std::int64_t> Scheduler::job_nodes(std::int64_t id) const {
  std::lock_guard lock(impl_->mutex);
  const auto& s = impl_->state;
  std::vector<std::int64_t> out;
  for (int n : s.jobs[s.find_job(id, "[scheduler.job_nodes]")].nodes) out.push_back(s.nodes[n].id);
  return out;
}

Reservation Scheduler::reservation() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->state.reservation;
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard lock(impl_->mutex);
  const auto& s = impl_->state;
  SchedulerStats out;
  out.nodes = static_cast<std::int64_t>(s.nodes.size());
  for (const JobState state : s.status) {
    if (state == JobState::kPending) ++out.pending;
    else if (state == JobState::kRunning) ++out.running;
    else ++out.finished;
  }
  return out;
}

std::vector<TenantShare> Scheduler::tenant_shares() const {
  std::lock_guard lock(impl_->mutex);
  const auto& s = impl_->state;
  std::vector<TenantShare> out;
  for (const auto& tenant : s.tenants) {
    double share = 0.0;
    for (std::size_t d = 0; d < tenant.allocated.size() && d < s.total_capacity.size(); ++d) {
      if (s.total_capacity[d] > 0) share = std::max(share, tenant.allocated[d] / s.total_capacity[d]);
    }
    out.push_back({tenant.name, tenant.weight, share});
  }
  return out;
}

}  // namespace mlforge::scheduler
