// Spec and configuration checks, and the batch insert with its dependency-graph checks.
#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "mlforge/error.h"
#include "scheduler/state.h"

namespace mlforge::scheduler::detail {
namespace {

void check_amount(double value, const char* op, const std::string& what, const char* name) {
  MLFORGE_CHECK(std::isfinite(value) && value >= 0.0, InvalidArgument, op, " ", what, ": ", name,
                " must be finite and >= 0, got ", value);
}

}  // namespace

void check_resources(const Resources& r, const char* op, const std::string& what) {
  check_amount(r.cpus, op, what, "cpus");
  check_amount(r.memory, op, what, "memory");
  check_amount(r.gpus, op, what, "gpus");
  std::unordered_set<std::string> seen;
  for (const auto& [name, amount] : r.custom) {
    MLFORGE_CHECK(!name.empty(), InvalidArgument, op, " ", what, ": a custom resource has an empty name");
    MLFORGE_CHECK(name != "cpus" && name != "memory" && name != "gpus", InvalidArgument, op, " ", what,
                  ": custom resource '", name, "' shadows a built-in resource");
    MLFORGE_CHECK(seen.insert(name).second, InvalidArgument, op, " ", what, ": custom resource '", name,
                  "' appears twice");
    check_amount(amount, op, what, ("custom resource '" + name + "'").c_str());
  }
}

void check_job_spec(const JobSpec& j, const char* op) {
  const std::string what = "job " + std::to_string(j.id);
  MLFORGE_CHECK(std::isfinite(j.priority), InvalidArgument, op, " ", what, ": priority must be finite, got ",
                j.priority);
  MLFORGE_CHECK(!j.tenant.empty(), InvalidArgument, op, " ", what, ": tenant must not be empty");
  check_resources(j.resources, op, what);
  MLFORGE_CHECK(j.gang_size >= 1, InvalidArgument, op, " ", what, ": gang_size must be >= 1, got ", j.gang_size);
  MLFORGE_CHECK(std::isfinite(j.submit_time), InvalidArgument, op, " ", what, ": submit_time must be finite, got ",
                j.submit_time);
  MLFORGE_CHECK(!std::isnan(j.earliest_start) && j.earliest_start != INFINITY, InvalidArgument, op, " ", what,
                ": earliest_start must be finite or -inf, got ", j.earliest_start);
  MLFORGE_CHECK(!std::isnan(j.deadline), InvalidArgument, op, " ", what, ": deadline must not be NaN");
  MLFORGE_CHECK(std::isfinite(j.expected_run_time) && j.expected_run_time >= 0, InvalidArgument, op, " ", what,
                ": expected_run_time must be finite and >= 0, got ", j.expected_run_time);
  MLFORGE_CHECK(std::isfinite(j.max_run_time) && j.max_run_time >= 0, InvalidArgument, op, " ", what,
                ": max_run_time must be finite and >= 0 (0: the default), got ", j.max_run_time);
  for (const auto& w : j.windows) {
    MLFORGE_CHECK(std::isfinite(w.start) && std::isfinite(w.end) && w.start < w.end, InvalidArgument, op, " ",
                  what, ": a window must be finite with start < end, got [", w.start, ", ", w.end, ")");
  }
  const auto on_failure = static_cast<std::int32_t>(j.on_dependency_failure);
  MLFORGE_CHECK(on_failure == 0 || on_failure == 1, InvalidArgument, op, " ", what,
                ": on_dependency_failure must be kFail or kHold, got ", on_failure);
  for (auto dep : j.dependencies) {
    MLFORGE_CHECK(dep != j.id, InvalidArgument, op, " ", what, " depends on itself (cycle: ", j.id, " -> ", j.id,
                  ")");
  }
}

void check_config(const SchedulerConfig& c) {
  const char* op = "[scheduler.config]";
  MLFORGE_CHECK(std::isfinite(c.aging_per_hour) && c.aging_per_hour >= 0, InvalidArgument, op,
                " aging_per_hour must be finite and >= 0, got ", c.aging_per_hour);
  MLFORGE_CHECK(std::isfinite(c.max_aging) && c.max_aging >= 0, InvalidArgument, op,
                " max_aging must be finite and >= 0, got ", c.max_aging);
  MLFORGE_CHECK(std::isfinite(c.fairshare_weight) && c.fairshare_weight >= 0, InvalidArgument, op,
                " fairshare_weight must be finite and >= 0, got ", c.fairshare_weight);
  MLFORGE_CHECK(std::isfinite(c.default_max_run_time) && c.default_max_run_time > 0, InvalidArgument, op,
                " default_max_run_time must be finite and > 0, got ", c.default_max_run_time);
  std::unordered_set<std::string> seen;
  for (const auto& [tenant, weight] : c.tenant_weights) {
    MLFORGE_CHECK(!tenant.empty(), InvalidArgument, op, " tenant_weights: a tenant has an empty name");
    MLFORGE_CHECK(seen.insert(tenant).second, InvalidArgument, op, " tenant_weights: tenant '", tenant,
                  "' appears twice");
    MLFORGE_CHECK(std::isfinite(weight) && weight > 0, InvalidArgument, op, " tenant_weights['", tenant,
                  "'] must be finite and > 0, got ", weight);
  }
}

void add_jobs(State& s, const std::vector<JobSpec>& specs) {
  const char* op = "[scheduler.submit]";
  std::unordered_map<std::int64_t, int> batch;  // id -> position in specs
  for (int i = 0; i < static_cast<int>(specs.size()); ++i) {
    check_job_spec(specs[i], op);
    const auto id = specs[i].id;
    MLFORGE_CHECK(!s.job_index.count(id) && batch.emplace(id, i).second, InvalidArgument, op, " job id ", id,
                  " is already in use");
  }
  for (const auto& spec : specs) {
    for (auto dep : spec.dependencies) {
      MLFORGE_CHECK(s.job_index.count(dep) || batch.count(dep), InvalidArgument, op, " job ", spec.id,
                    " depends on unknown job ", dep);
    }
  }
  // Known jobs cannot depend on new ones, so a cycle lies inside the batch: iterative DFS over it.
  std::vector<int> color(specs.size(), 0);  // 0 new, 1 on the stack, 2 done
  for (int root = 0; root < static_cast<int>(specs.size()); ++root) {
    if (color[root] != 0) continue;
    std::vector<std::pair<int, std::size_t>> stack{{root, 0}};
    color[root] = 1;
    while (!stack.empty()) {
      auto& [at, next] = stack.back();
      const auto& deps = specs[at].dependencies;
      if (next == deps.size()) {
        color[at] = 2;
        stack.pop_back();
        continue;
      }
      const auto found = batch.find(deps[next++]);
      if (found == batch.end()) continue;
      const int to = found->second;
      if (color[to] == 1) {
        std::string cycle = std::to_string(specs[to].id);
        for (auto it = stack.rbegin(); it != stack.rend() && it->first != to; ++it) {
          cycle = std::to_string(specs[it->first].id) + " -> " + cycle;
        }
        cycle = std::to_string(specs[to].id) + " -> " + cycle;
        throw InvalidArgument(std::string(op) + " dependency cycle: " + cycle);
      }
      if (color[to] == 0) {
        color[to] = 1;
        stack.emplace_back(to, 0);
      }
    }
  }

  // Everything checked: now insert (interning names cannot fail).
  const int first = static_cast<int>(s.jobs.size());
  for (const auto& spec : specs) {
    Job job;
    job.spec = spec;
    job.request = s.dense(spec.resources);
    job.tenant = s.tenant_of(spec.tenant);
    job.max_run = spec.max_run_time > 0 ? spec.max_run_time : s.config.default_max_run_time;
    s.job_index.emplace(spec.id, static_cast<int>(s.jobs.size()));
    s.status.push_back(JobState::kPending);
    s.keys.push_back({spec.priority, spec.submit_time, spec.expected_run_time, spec.deadline, spec.earliest_start,
                      job.max_run, spec.id, job.tenant, spec.gang_size, !spec.dependencies.empty(),
                      !spec.windows.empty()});
    s.jobs.push_back(std::move(job));
  }
  s.pad();  // a new custom resource widens every request; otherwise append the new rows
  for (int i = static_cast<int>(s.requests.size() / s.dims()); i < static_cast<int>(s.jobs.size()); ++i) {
    s.requests.insert(s.requests.end(), s.jobs[i].request.begin(), s.jobs[i].request.end());
  }
  for (int i = first; i < static_cast<int>(s.jobs.size()); ++i) {
    auto& deps = s.jobs[i].spec.dependencies;
    for (auto dep : deps) {
      const int d = s.job_index.at(dep);
      if (std::find(s.jobs[i].deps.begin(), s.jobs[i].deps.end(), d) != s.jobs[i].deps.end()) continue;
      s.jobs[i].deps.push_back(d);
      s.jobs[d].dependents.push_back(i);
    }
  }
}

}  // namespace mlforge::scheduler::detail
