// Internal state of mlforge::scheduler::Scheduler: jobs, nodes and tenants in insertion-ordered
// vectors (indices, never hash order, decide every tie) plus id -> index maps for lookups.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "mlforge/scheduler.h"

namespace mlforge::scheduler::detail {

inline constexpr int kCoreDims = 3;  // cpus, memory, gpus; custom resources follow
inline constexpr double kFitSlack = 1e-9;  // absorbs rounding of repeated += / -= on free capacity

struct Job {
  JobSpec spec;
  std::vector<double> request;  // per node, one entry per dimension (padded when dims grow)
  std::vector<int> deps;        // job indices
  std::vector<int> dependents;  // job indices
  std::vector<int> nodes;       // node indices while running
  int tenant = 0;
  double start_time = 0.0;
  double max_run = 0.0;         // resolved max_run_time
};

// What a pass reads of every job, packed next to each other (one array over all jobs) so the scan
// and the ordering stream through memory instead of visiting the large Job records.
struct JobKeys {
  double priority = 0.0;
  double submit_time = 0.0;
  double expected_run_time = 0.0;
  double deadline = 0.0;
  double earliest_start = 0.0;  // the current one (requeue changes it)
  double max_run = 0.0;
  std::int64_t id = 0;
  int tenant = 0;
  int gang = 1;
  bool has_deps = false;
  bool has_windows = false;
};

struct Node {
  std::int64_t id = 0;
  std::vector<double> capacity;
  std::vector<int> running;  // job indices, in start order
};

struct Tenant {
  std::string name;
  double weight = 1.0;
  std::vector<double> allocated;  // sum over running jobs of request * gang_size
};

struct State {
  SchedulerConfig config;
  std::vector<std::string> dim_names{"cpus", "memory", "gpus"};
  std::map<std::string, int> dim_index;
  std::vector<Job> jobs;
  std::vector<JobState> status;    // per job; the one place a job's state lives
  std::vector<JobKeys> keys;       // per job
  std::vector<double> requests;    // jobs x dims, row-major: the same numbers as Job::request
  std::unordered_map<std::int64_t, int> job_index;
  std::vector<Node> nodes;
  std::vector<double> free;        // nodes x dims, row-major: what each node has left
  int row_width = kCoreDims;       // dims() when `requests` and `free` were last laid out
  std::unordered_map<std::int64_t, int> node_index;
  std::vector<Tenant> tenants;
  std::map<std::string, int> tenant_index;
  std::vector<double> total_capacity;
  Reservation reservation;

  int dims() const { return static_cast<int>(dim_names.size()); }
  int find_job(std::int64_t id, const char* op) const;    // OutOfRange when unknown
  int find_node(std::int64_t id, const char* op) const;   // OutOfRange when unknown
  int tenant_of(const std::string& name);                 // interns
  std::vector<double> dense(const Resources& r);          // interns custom names
  void pad();                                             // every vector to dims()
  const double* request(int job) const { return &requests[static_cast<std::size_t>(job) * dims()]; }
  double* free_of(int node) { return &free[static_cast<std::size_t>(node) * dims()]; }
  const double* free_of(int node) const { return &free[static_cast<std::size_t>(node) * dims()]; }
  void allocate(int job, const std::vector<int>& node_list, double start_time);
  void release(int job);
};

// Checks shared by submit and add_node; they throw InvalidArgument naming `what` and the value.
void check_resources(const Resources& r, const char* op, const std::string& what);
void check_job_spec(const JobSpec& spec, const char* op);
void check_config(const SchedulerConfig& config);

// Adds a batch of validated specs: unknown dependencies and cycles throw before anything changes.
void add_jobs(State& s, const std::vector<JobSpec>& specs);

// One pass; see mlforge/scheduler.h for the policy.
std::vector<Decision> run_pass(State& s, double now);

inline bool fits(const double* request, const double* free, int dims) {
  for (int d = 0; d < dims; ++d) {
    if (request[d] > free[d] + kFitSlack) return false;
  }
  return true;
}

}  // namespace mlforge::scheduler::detail
