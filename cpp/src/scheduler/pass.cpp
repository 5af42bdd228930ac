// The pass: deadlines and failed dependencies first, then eligible jobs in fair-share and priority
// order, each started, preempting, reserving or skipped. See mlforge/scheduler.h for the policy.
#include "scheduler/pass.h"

#include <algorithm>
#include <deque>
#include <limits>
#include <queue>
#include <string>

namespace mlforge::scheduler::detail {

std::vector<Decision> run_pass(State& s, double now) { return Pass(s, now).run(); }

double Pass::effective_priority(const Job& job) const {
  const double waited_hours = std::max(0.0, now_ - job.spec.submit_time) / 3600.0;
  return job.spec.priority + std::min(s_.config.max_aging, s_.config.aging_per_hour * waited_hours);
}

// One scan over every job: missed deadlines fail, pending jobs with dependencies are noted for the
// cascade, and jobs that may start now are collected. A job with a failed dependency is never
// collected (its dependencies have not all succeeded), so the cascade cannot remove one.
std::vector<int> Pass::scan_jobs(std::vector<int>& with_deps) {
  std::vector<int> eligible;
  for (int j = 0; j < static_cast<int>(s_.jobs.size()); ++j) {
    Job& job = s_.jobs[j];
    job.started_this_pass = false;
    if (job.state != JobState::kPending) continue;
    if (now_ + job.spec.expected_run_time > job.spec.deadline) {
      job.state = JobState::kFailed;
      out_.push_back({Action::kFail, job.spec.id, {}, "missed its deadline"});
      continue;
    }
    bool ready = true;
    for (int d : job.deps) ready = ready && s_.jobs[d].state == JobState::kSucceeded;
    if (!job.deps.empty()) with_deps.push_back(j);
    if (!ready || now_ < job.spec.earliest_start) continue;
    if (!job.spec.windows.empty()) {
      bool inside = false;
      for (const auto& w : job.spec.windows) inside = inside || (w.start <= now_ && now_ < w.end);
      if (!inside) continue;
    }
    eligible.push_back(j);
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
    if (job.state != JobState::kPending || job.spec.on_dependency_failure != OnDependencyFailure::kFail) continue;
    for (int d : job.deps) {
      const JobState dep = s_.jobs[d].state;
      if (dep != JobState::kFailed && dep != JobState::kCancelled) continue;
      job.state = JobState::kFailed;
      out_.push_back({Action::kFail, job.spec.id, {},
                      std::string("dependency ") + std::to_string(s_.jobs[d].spec.id) + " " + job_state_name(dep)});
      for (int child : job.dependents) work.push_back(child);
      break;
    }
  }
}

void Pass::start(int j, const Want& want, const std::vector<int>& chosen) {
  take_from_reservation(want, chosen);
  s_.allocate(j, chosen, now_);
  s_.jobs[j].started_this_pass = true;
  Decision d{Action::kStart, s_.jobs[j].spec.id, {}, {}};
  for (int n : chosen) d.nodes.push_back(s_.nodes[n].id);
  out_.push_back(std::move(d));
}

std::vector<Decision> Pass::run() {
  s_.reservation = Reservation();
  std::vector<int> with_deps;
  const std::vector<int> eligible = scan_jobs(with_deps);
  resolve_failed_dependencies(with_deps);

  // Sort once: by tenant, then the in-tenant order; each tenant is then a contiguous run. The keys
  // are copied next to each other so the sort does not chase Job records.
  struct Entry {
    int tenant;
    double priority;
    double expected;
    double submitted;
    std::int64_t id;
    int job;
  };
  std::vector<Entry> order;
  min_request_.assign(dims_, std::numeric_limits<double>::infinity());
  for (int j : eligible) {
    const Job& job = s_.jobs[j];
    order.push_back({job.tenant, effective_priority(job), job.spec.expected_run_time, job.spec.submit_time,
                     job.spec.id, j});
    for (int d = 0; d < dims_; ++d) min_request_[d] = std::min(min_request_[d], job.request[d]);
  }
  std::sort(order.begin(), order.end(), [](const Entry& a, const Entry& b) {
    if (a.tenant != b.tenant) return a.tenant < b.tenant;
    if (a.priority != b.priority) return a.priority > b.priority;
    if (a.expected != b.expected) return a.expected < b.expected;
    if (a.submitted != b.submitted) return a.submitted < b.submitted;
    return a.id < b.id;
  });
  reopen_all_nodes();
  std::vector<double> requests(order.size() * static_cast<std::size_t>(dims_));
  std::vector<Want> wants(order.size());
  for (std::size_t k = 0; k < order.size(); ++k) {
    const Job& job = s_.jobs[order[k].job];
    double* request = &requests[k * static_cast<std::size_t>(dims_)];
    std::copy(job.request.begin(), job.request.end(), request);
    wants[k] = {request, job.spec.gang_size, job.max_run};
  }

  // Per-tenant cursors and DRF shares; weights are normalised over tenants with work.
  const int tenants = static_cast<int>(s_.tenants.size());
  std::vector<int> begin(tenants, 0), end(tenants, 0);
  std::vector<char> active(tenants, 0);
  for (int i = static_cast<int>(order.size()) - 1; i >= 0; --i) begin[order[i].tenant] = i;
  for (int i = 0; i < static_cast<int>(order.size()); ++i) {
    end[order[i].tenant] = i + 1;
    active[order[i].tenant] = 1;
  }
  for (const auto& job : s_.jobs) {
    if (job.state == JobState::kRunning) active[job.tenant] = 1;
  }
  double weight_sum = 0.0;
  for (int t = 0; t < tenants; ++t) weight_sum += active[t] ? s_.tenants[t].weight : 0.0;
  auto penalty = [&](int t) {
    double share = 0.0;
    for (int d = 0; d < dims_; ++d) {
      if (s_.total_capacity[d] > 0) share = std::max(share, s_.tenants[t].allocated[d] / s_.total_capacity[d]);
    }
    return s_.config.fairshare_weight * share * weight_sum / s_.tenants[t].weight;
  };
  struct Head {
    double score;
    int tenant;
  };
  auto lower = [](const Head& a, const Head& b) {
    return a.score != b.score ? a.score < b.score : a.tenant > b.tenant;
  };
  std::priority_queue<Head, std::vector<Head>, decltype(lower)> heads(lower);
  for (int t = 0; t < tenants; ++t) {
    if (begin[t] < end[t]) heads.push({order[begin[t]].priority - penalty(t), t});
  }

  reserved_.assign(s_.nodes.size(), 0);
  std::vector<int> chosen;
  while (!heads.empty()) {
    const int t = heads.top().tenant;
    heads.pop();
    const int k = begin[t]++;
    const int j = order[k].job;
    const Want& want = wants[k];
    if (!blocked_ || s_.config.backfill) {  // every job in `order` is pending and appears once
      if (!dominated(want) && find_nodes(want, chosen)) {
        start(j, want, chosen);
      } else if (!blocked_ && s_.config.preemption && preempt_for(j, chosen)) {
        start(j, want, chosen);
      } else {
        remember_failure(want, plain_fits_ < want.gang);
        if (!blocked_) {
          blocked_ = true;
          if (s_.config.backfill) reserve(j);
        }
      }
    }
    if (begin[t] < end[t]) heads.push({order[begin[t]].priority - penalty(t), t});
  }
  return std::move(out_);
}

}  // namespace mlforge::scheduler::detail
