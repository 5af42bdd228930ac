// One scheduling pass over a State (internal). Split over pass.cpp (eligibility, order, main loop),
// placement.cpp (first fit, EASY reservation) and preemption.cpp (victim choice).
#pragma once

#include <limits>
#include <vector>

#include "scheduler/order.h"
#include "scheduler/state.h"

namespace mlforge::scheduler::detail {

// A request shape that found no place this pass. Free capacity only shrinks during a pass (until a
// preemption, which clears the list), so a job needing at least as much of everything, as many
// nodes and as long a run cannot fit either.
// What a queued job asks for, in pass order (the request points into State::requests).
struct Want {
  const double* request = nullptr;
  int gang = 1;
  double max_run = 0.0;
};

struct FailedShape {
  std::vector<double> request;
  int gang = 1;
  double max_run = 0.0;
};

class Pass {
 public:
  Pass(State& s, double now) : s_(s), now_(now), dims_(s.dims()) {}
  std::vector<Decision> run();

 private:
  // pass.cpp
  std::vector<OrderKey> scan_jobs(std::vector<int>& with_deps);
  void resolve_failed_dependencies(const std::vector<int>& with_deps);
  double effective_priority(const JobKeys& job) const;
  double penalty(int tenant) const;
  void start(int j, const Want& want, const std::vector<int>& chosen);
  // placement.cpp
  bool allowed_on(const Want& want, int n) const;
  bool find_nodes(const Want& want, std::vector<int>& chosen);
  bool useless(int n) const;
  void reopen_all_nodes();
  bool dominated(const Want& want) const;
  void remember_failure(const Want& want, bool anywhere);
  void reserve(int j);
  void take_from_reservation(const Want& want, const std::vector<int>& chosen);
  // preemption.cpp
  bool preempt_for(int j, std::vector<int>& chosen);

  State& s_;
  const double now_;
  const int dims_;
  std::vector<Decision> out_;
  std::vector<char> started_;        // per job: started by this pass (never a preemption victim)
  std::vector<char> running_tenant_;  // per tenant: has a running job
  double weight_sum_ = 0.0;          // over tenants with work; normalises the DRF weights
  std::vector<FailedShape> failed_;
  std::vector<double> min_request_;  // per dimension, over the eligible jobs
  std::vector<int> open_;            // nodes that may still take some eligible job, in order
  int plain_fits_ = 0;               // nodes the last find_nodes() saw fitting, reservation aside
  bool blocked_ = false;  // a job has already failed to start: later ones only backfill
  double shadow_ = std::numeric_limits<double>::infinity();
  std::vector<char> reserved_;  // per node
  std::vector<double> extra_;   // per node x dims: what the reservation leaves over at shadow_
};

}  // namespace mlforge::scheduler::detail
