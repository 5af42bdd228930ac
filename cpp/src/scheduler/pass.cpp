// The pass: deadlines and failed dependencies first, then eligible jobs in fair-share and priority
// order, each started, preempting, reserving or skipped. See mlforge/scheduler.h for the policy.
// The scan and the ordering read State::keys / status / requests (compact per-job arrays), not the
// Job records: at 100k queued jobs that is most of the difference in a pass.
#include "scheduler/pass.h"

#include <algorithm>
#include <deque>
#include <limits>
#include <queue>
#include <string>

namespace mlforge::scheduler::detail {

std::vector<Decision> run_pass(State& s, double now) { return Pass(s, now).run(); }

double Pass::effective_priority(const JobKeys& job) const {
  const double waited_hours = std::max(0.0, now_ - job.submit_time) / 3600.0;
  return job.priority + std::min(s_.config.max_aging, s_.config.aging_per_hour * waited_hours);
}

// One scan over every job: missed deadlines fail, pending jobs with dependencies are noted for the
// cascade, tenants with running jobs are marked, and jobs that may start now are collected with
// their sort keys. A job with a failed dependency is never collected (its dependencies have not all
// succeeded), so the cascade cannot remove one.
std::vector<OrderKey> Pass::scan_jobs(std::vector<int>& with_deps) {
  std::vector<OrderKey> eligible;
  const int n = static_cast<int>(s_.jobs.size());
  eligible.reserve(static_cast<std::size_t>(n));
  started_.assign(static_cast<std::size_t>(n), 0);
  running_tenant_.assign(s_.tenants.size(), 0);
  min_request_.assign(dims_, std::numeric_limits<double>::infinity());
  JobState* status = s_.status.data();
  for (int j = 0; j < n; ++j) {
    const JobKeys& key = s_.keys[j];
    if (status[j] == JobState::kRunning) running_tenant_[key.tenant] = 1;
    if (status[j] != JobState::kPending) continue;
    if (now_ + key.expected_run_time > key.deadline) {
      status[j] = JobState::kFailed;
      out_.push_back({Action::kFail, key.id, {}, "missed its deadline"});
      continue;
    }
    if (key.has_deps) {
      with_deps.push_back(j);
      bool ready = true;
      for (int d : s_.jobs[j].deps) ready = ready && status[d] == JobState::kSucceeded;
      if (!ready) continue;
    }
    if (now_ < key.earliest_start) continue;
    if (key.has_windows) {
      bool inside = false;
      for (const auto& w : s_.jobs[j].spec.windows) inside = inside || (w.start <= now_ && now_ < w.end);
      if (!inside) continue;
    }
    eligible.push_back(
        {priority_key(effective_priority(key)), static_cast<std::uint32_t>(key.tenant), static_cast<std::uint32_t>(j)});
    const double* request = s_.request(j);
    for (int d = 0; d < dims_; ++d) min_request_[d] = std::min(min_request_[d], request[d]);
  }
  return eligible;
}

// Failures cascade through kFail dependents in this same pass (FIFO, so decisions come out in
// dependency order); a kHold dependent keeps waiting and shields its own dependents.
void Pass::resolve_failed_dependencies(const std::vector<int>& with_deps) {
  std::deque<int> work(with_deps.begin(), with_deps.end());
  while (!work.empty()) {
    const int j = work.front();
    work.pop_front();
    Job& job = s_.jobs[j];
    if (s_.status[j] != JobState::kPending || job.spec.on_dependency_failure != OnDependencyFailure::kFail) continue;
    for (int d : job.deps) {
      const JobState dep = s_.status[d];
      if (dep != JobState::kFailed && dep != JobState::kCancelled) continue;
      s_.status[j] = JobState::kFailed;
      out_.push_back({Action::kFail, job.spec.id, {},
                      std::string("dependency ") + std::to_string(s_.jobs[d].spec.id) + " " + job_state_name(dep)});
      for (int child : job.dependents) work.push_back(child);
      break;
    }
  }
}

// The DRF term of a tenant's head score: fairshare_weight * dominant share / normalised weight.
double Pass::penalty(int t) const {
  double share = 0.0;
  for (int d = 0; d < dims_; ++d) {
    if (s_.total_capacity[d] > 0) share = std::max(share, s_.tenants[t].allocated[d] / s_.total_capacity[d]);
  }
  return s_.config.fairshare_weight * share * weight_sum_ / s_.tenants[t].weight;
}

void Pass::start(int j, const Want& want, const std::vector<int>& chosen) {
  take_from_reservation(want, chosen);
  s_.allocate(j, chosen, now_);
  started_[j] = 1;
  Decision d{Action::kStart, s_.jobs[j].spec.id, {}, {}};
  for (int n : chosen) d.nodes.push_back(s_.nodes[n].id);
  out_.push_back(std::move(d));
}

std::vector<Decision> Pass::run() {
  s_.reservation = Reservation();
  std::vector<int> with_deps;
  std::vector<OrderKey> order = scan_jobs(with_deps);
  resolve_failed_dependencies(with_deps);
  sort_pass_order(order, s_.keys);  // by tenant, then the in-tenant order: each tenant is one run
  reopen_all_nodes();
  // What the loop reads, gathered into pass order once (the loop then streams through it).
  const std::size_t count = order.size();
  std::vector<double> priority(count), requests(count * static_cast<std::size_t>(dims_));
  std::vector<Want> wants(count);
  for (std::size_t k = 0; k < count; ++k) {
    const int j = static_cast<int>(order[k].job);
    const JobKeys& key = s_.keys[j];
    double* request = &requests[k * static_cast<std::size_t>(dims_)];
    std::copy(s_.request(j), s_.request(j) + dims_, request);
    wants[k] = {request, key.gang, key.max_run};
    priority[k] = effective_priority(key);
  }

  // Per-tenant cursors and DRF shares; weights are normalised over tenants with work. A tenant's
  // penalty changes only when its allocation does (its own start, or any preemption), so it is
  // cached and refreshed then.
  const int tenants = static_cast<int>(s_.tenants.size());
  std::vector<int> begin(tenants, 0), end(tenants, 0);
  std::vector<char> active = running_tenant_;
  for (int i = static_cast<int>(count) - 1; i >= 0; --i) begin[order[i].tenant] = i;
  for (int i = 0; i < static_cast<int>(count); ++i) {
    end[order[i].tenant] = i + 1;
    active[order[i].tenant] = 1;
  }
  weight_sum_ = 0.0;
  for (int t = 0; t < tenants; ++t) weight_sum_ += active[t] ? s_.tenants[t].weight : 0.0;
  std::vector<double> pen(tenants);
  for (int t = 0; t < tenants; ++t) pen[t] = penalty(t);
  struct Head {
    double score;
    int tenant;
  };
  auto lower = [](const Head& a, const Head& b) {
    return a.score != b.score ? a.score < b.score : a.tenant > b.tenant;
  };
  std::vector<Head> storage;
  storage.reserve(tenants);
  std::priority_queue<Head, std::vector<Head>, decltype(lower)> heads(lower, std::move(storage));
  for (int t = 0; t < tenants; ++t) {
    if (begin[t] < end[t]) heads.push({priority[begin[t]] - pen[t], t});
  }

  reserved_.assign(s_.nodes.size(), 0);
  std::vector<int> chosen;
  while (!heads.empty()) {
    const int t = heads.top().tenant;
    heads.pop();
    const int k = begin[t]++;
    const int j = static_cast<int>(order[k].job);
    const Want& want = wants[k];
    if (!blocked_ || s_.config.backfill) {  // every job in `order` is pending and appears once
      if (!dominated(want) && find_nodes(want, chosen)) {
        start(j, want, chosen);
        pen[t] = penalty(t);
      } else if (!blocked_ && s_.config.preemption && preempt_for(j, chosen)) {
        start(j, want, chosen);
        for (int u = 0; u < tenants; ++u) pen[u] = penalty(u);  // victims of any tenant were released
      } else {
        remember_failure(want, plain_fits_ < want.gang);
        if (!blocked_) {
          blocked_ = true;
          if (s_.config.backfill) reserve(j);
        }
      }
    }
    if (begin[t] < end[t]) heads.push({priority[begin[t]] - pen[t], t});
  }
  return std::move(out_);
}

}  // namespace mlforge::scheduler::detail
