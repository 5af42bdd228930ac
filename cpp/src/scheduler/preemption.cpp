// Preemption for the first job that does not fit: the cheapest sufficient victim set per node, the
// cheapest nodes for the gang, all deterministic.
#include <algorithm>
#include <limits>
#include <string>
#include <tuple>

#include "scheduler/pass.h"

namespace mlforge::scheduler::detail {

bool Pass::preempt_for(int j, std::vector<int>& chosen) {
  const Job& job = s_.jobs[j];
  const int gang = job.spec.gang_size;
  struct Option {
    double worst;  // highest victim priority (-inf: no victim needed)
    int count;
    int node;
    std::vector<int> victims;
  };
  std::vector<Option> options;
  std::vector<double> free(dims_);
  std::vector<int> candidates;
  for (int n = 0; n < static_cast<int>(s_.nodes.size()); ++n) {
    const Node& node = s_.nodes[n];
    free.assign(s_.free_of(n), s_.free_of(n) + dims_);
    if (fits(job.request.data(), free.data(), dims_)) {
      options.push_back({-std::numeric_limits<double>::infinity(), 0, n, {}});
      continue;
    }
    candidates.clear();
    for (int r : node.running) {
      const Job& run = s_.jobs[r];
      if (run.spec.preemptible && run.spec.priority < job.spec.priority && !started_[r]) {
        candidates.push_back(r);
      }
    }
    // Cheapest first: lowest priority, then the youngest (least work lost), then id.
    std::sort(candidates.begin(), candidates.end(), [&](int a, int b) {
      const Job& x = s_.jobs[a];
      const Job& y = s_.jobs[b];
      return std::make_tuple(x.spec.priority, -x.start_time, x.spec.id) <
             std::make_tuple(y.spec.priority, -y.start_time, y.spec.id);
    });
    std::vector<int> victims;
    bool enough = false;
    for (int r : candidates) {
      victims.push_back(r);
      for (int d = 0; d < dims_; ++d) free[d] += s_.jobs[r].request[d];
      if ((enough = fits(job.request.data(), free.data(), dims_))) break;
    }
    if (!enough) continue;
    // Keep no victim that is not needed, trying to spare the most valuable ones first.
    for (int k = static_cast<int>(victims.size()) - 1; k >= 0; --k) {
      for (int d = 0; d < dims_; ++d) free[d] -= s_.jobs[victims[k]].request[d];
      if (fits(job.request.data(), free.data(), dims_)) {
        victims.erase(victims.begin() + k);
      } else {
        for (int d = 0; d < dims_; ++d) free[d] += s_.jobs[victims[k]].request[d];
      }
    }
    double worst = -std::numeric_limits<double>::infinity();
    for (int r : victims) worst = std::max(worst, s_.jobs[r].spec.priority);
    options.push_back({worst, static_cast<int>(victims.size()), n, std::move(victims)});
  }
  if (static_cast<int>(options.size()) < gang) return false;
  std::partial_sort(options.begin(), options.begin() + gang, options.end(), [](const Option& a, const Option& b) {
    return std::tie(a.worst, a.count, a.node) < std::tie(b.worst, b.count, b.node);
  });
  chosen.clear();
  for (int k = 0; k < gang; ++k) {
    for (int r : options[k].victims) {
      if (s_.status[r] != JobState::kRunning) continue;  // a gang victim seen on two nodes
      s_.release(r);
      s_.status[r] = JobState::kPending;
      out_.push_back({Action::kPreempt, s_.jobs[r].spec.id, {}, "preempted for job " + std::to_string(job.spec.id)});
    }
    chosen.push_back(options[k].node);
  }
  std::sort(chosen.begin(), chosen.end());
  failed_.clear();  // capacity grew: earlier failures may fit now
  reopen_all_nodes();
  return true;
}

}  // namespace mlforge::scheduler::detail
