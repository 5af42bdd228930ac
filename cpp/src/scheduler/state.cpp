// Bookkeeping of the scheduler state: id lookups, resource interning and (de)allocation.
#include <algorithm>
#include <utility>

#include "mlforge/error.h"
#include "scheduler/state.h"

namespace mlforge::scheduler::detail {

int State::find_job(std::int64_t id, const char* op) const {
  const auto found = job_index.find(id);
  MLFORGE_CHECK(found != job_index.end(), OutOfRange, op, " unknown job id ", id);
  return found->second;
}

int State::find_node(std::int64_t id, const char* op) const {
  const auto found = node_index.find(id);
  MLFORGE_CHECK(found != node_index.end(), OutOfRange, op, " unknown node id ", id);
  return found->second;
}

int State::tenant_of(const std::string& name) {
  const auto [it, inserted] = tenant_index.emplace(name, static_cast<int>(tenants.size()));
  if (inserted) {
    Tenant tenant;
    tenant.name = name;
    for (const auto& [listed, weight] : config.tenant_weights) {
      if (listed == name) tenant.weight = weight;
    }
    tenant.allocated.assign(dims(), 0.0);
    tenants.push_back(std::move(tenant));
  }
  return it->second;
}

std::vector<double> State::dense(const Resources& r) {
  std::vector<double> out{r.cpus, r.memory, r.gpus};
  for (const auto& [name, amount] : r.custom) {
    const auto [it, inserted] = dim_index.emplace(name, dims());
    if (inserted) dim_names.push_back(name);
    if (out.size() < static_cast<std::size_t>(dims())) out.resize(dims(), 0.0);
    out[it->second] = amount;
  }
  out.resize(dims(), 0.0);
  return out;
}

// A new custom resource name widens every vector; missing amounts are 0.
void State::pad() {
  const auto n = static_cast<std::size_t>(dims());
  const auto old = static_cast<std::size_t>(row_width);
  if (old == n) return;
  for (auto& job : jobs) job.request.resize(n, 0.0);
  requests.assign(jobs.size() * n, 0.0);
  for (std::size_t j = 0; j < jobs.size(); ++j) std::copy(jobs[j].request.begin(), jobs[j].request.end(), &requests[j * n]);
  std::vector<double> widened(free.size() / old * n, 0.0);
  for (std::size_t row = 0; row < free.size() / old; ++row) {
    std::copy(&free[row * old], &free[row * old] + old, &widened[row * n]);
  }
  free = std::move(widened);
  for (auto& node : nodes) node.capacity.resize(n, 0.0);
  for (auto& tenant : tenants) tenant.allocated.resize(n, 0.0);
  total_capacity.resize(n, 0.0);
  row_width = static_cast<int>(n);
}

void State::allocate(int j, const std::vector<int>& node_list, double start_time) {
  Job& job = jobs[j];
  const int n_dims = dims();
  for (int n : node_list) {
    for (int d = 0; d < n_dims; ++d) free_of(n)[d] -= job.request[d];
    nodes[n].running.push_back(j);
  }
  for (int d = 0; d < n_dims; ++d) tenants[job.tenant].allocated[d] += job.request[d] * double(node_list.size());
  job.nodes = node_list;
  status[j] = JobState::kRunning;
  job.start_time = start_time;
}

void State::release(int j) {
  Job& job = jobs[j];
  const int n_dims = dims();
  for (int n : job.nodes) {
    for (int d = 0; d < n_dims; ++d) free_of(n)[d] += job.request[d];
    auto& running = nodes[n].running;
    running.erase(std::find(running.begin(), running.end(), j));
  }
  auto& allocated = tenants[job.tenant].allocated;
  for (int d = 0; d < n_dims; ++d) {
    allocated[d] -= job.request[d] * double(job.nodes.size());
    if (allocated[d] < kFitSlack) allocated[d] = 0.0;  // no -1e-17 shares after rounding
  }
  job.nodes.clear();
}

}  // namespace mlforge::scheduler::detail
