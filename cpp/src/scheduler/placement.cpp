// First-fit placement under the EASY reservation, the failed-shape memo, and the reservation itself.
#include <algorithm>
#include <limits>
#include <utility>

#include "scheduler/pass.h"

namespace mlforge::scheduler::detail {
namespace {
constexpr std::size_t kMaxFailedShapes = 32;  // an antichain; real queues have a handful of shapes
}

bool Pass::allowed_on(const Want& want, int n) const {
  if (!fits(want.request, s_.free_of(n), dims_)) return false;
  if (!reserved_[n] || now_ + want.max_run <= shadow_) return true;
  return fits(want.request, &extra_[static_cast<std::size_t>(n) * dims_], dims_);
}

// A node is useless for the rest of the pass once some resource is below every eligible request.
bool Pass::useless(int n) const {
  const double* free = s_.free_of(n);
  for (int d = 0; d < dims_; ++d) {
    if (free[d] + kFitSlack < min_request_[d]) return true;
  }
  return false;
}

void Pass::reopen_all_nodes() {
  open_.resize(s_.nodes.size());
  for (int n = 0; n < static_cast<int>(open_.size()); ++n) open_[n] = n;
}

// First fit over the open nodes; useless ones met on the way are dropped (compacting in place).
bool Pass::find_nodes(const Want& want, std::vector<int>& chosen) {
  const int gang = want.gang;
  chosen.clear();
  plain_fits_ = 0;
  std::size_t kept = 0, i = 0;
  for (; i < open_.size(); ++i) {
    const int n = open_[i];
    if (useless(n)) continue;
    open_[kept++] = n;
    if (!fits(want.request, s_.free_of(n), dims_)) continue;
    ++plain_fits_;
    if (allowed_on(want, n)) {
      chosen.push_back(n);
      if (static_cast<int>(chosen.size()) == gang) {
        ++i;
        break;
      }
    }
  }
  for (; i < open_.size(); ++i) open_[kept++] = open_[i];
  open_.resize(kept);
  return static_cast<int>(chosen.size()) == gang;
}

// Backfilled work that outlives the reservation uses up what the reservation leaves over.
void Pass::take_from_reservation(const Want& want, const std::vector<int>& chosen) {
  if (now_ + want.max_run <= shadow_) return;
  for (int n : chosen) {
    if (!reserved_[n]) continue;
    double* extra = &extra_[static_cast<std::size_t>(n) * dims_];
    for (int d = 0; d < dims_; ++d) extra[d] -= want.request[d];
  }
}

bool Pass::dominated(const Want& want) const {
  for (const auto& shape : failed_) {
    if (want.gang < shape.gang || want.max_run < shape.max_run) continue;
    bool covers = true;
    for (int d = 0; d < dims_ && covers; ++d) covers = want.request[d] >= shape.request[d];
    if (covers) return true;
  }
  return false;
}

// `anywhere`: too few nodes fit even ignoring the reservation, which no run time changes.
void Pass::remember_failure(const Want& want, bool anywhere) {
  if (dominated(want)) return;
  const double max_run = anywhere ? -std::numeric_limits<double>::infinity() : want.max_run;
  // Drop shapes the new one makes redundant (they dominate it), keeping the list an antichain.
  std::erase_if(failed_, [&](const FailedShape& shape) {
    if (shape.gang < want.gang || shape.max_run < max_run) return false;
    for (int d = 0; d < dims_; ++d) {
      if (shape.request[d] < want.request[d]) return false;
    }
    return true;
  });
  if (failed_.size() < kMaxFailedShapes) {
    failed_.push_back({std::vector<double>(want.request, want.request + dims_), want.gang, max_run});
  }
}

// EASY: the earliest time `gang` nodes can each hold the request, assuming running jobs end at
// start + max_run_time (overdue ones: now). Later jobs must not delay it.
void Pass::reserve(int j) {
  const Job& job = s_.jobs[j];
  const int gang = job.spec.gang_size;
  const int nodes = static_cast<int>(s_.nodes.size());
  if (gang > nodes) return;
  constexpr double kNever = std::numeric_limits<double>::infinity();
  std::vector<std::pair<double, int>> when;  // (earliest fit time, node)
  std::vector<double> free(dims_);
  std::vector<std::pair<double, int>> ends;
  for (int n = 0; n < nodes; ++n) {
    const Node& node = s_.nodes[n];
    free.assign(s_.free_of(n), s_.free_of(n) + dims_);
    double at = kNever;
    if (fits(job.request.data(), free.data(), dims_)) {
      at = now_;
    } else {
      ends.clear();
      for (int r : node.running) ends.emplace_back(std::max(now_, s_.jobs[r].start_time + s_.jobs[r].max_run), r);
      std::sort(ends.begin(), ends.end());
      for (const auto& [end, r] : ends) {
        for (int d = 0; d < dims_; ++d) free[d] += s_.jobs[r].request[d];
        if (fits(job.request.data(), free.data(), dims_)) {
          at = end;
          break;
        }
      }
    }
    if (at < kNever) when.emplace_back(at, n);
  }
  if (static_cast<int>(when.size()) < gang) return;
  std::partial_sort(when.begin(), when.begin() + gang, when.end());
  shadow_ = when[gang - 1].first;
  extra_.assign(static_cast<std::size_t>(nodes) * dims_, 0.0);
  Reservation reservation{job.spec.id, shadow_, {}};
  for (int k = 0; k < gang; ++k) {
    const int n = when[k].second;
    const Node& node = s_.nodes[n];
    reserved_[n] = 1;
    double* extra = &extra_[static_cast<std::size_t>(n) * dims_];
    for (int d = 0; d < dims_; ++d) extra[d] = s_.free_of(n)[d] - job.request[d];
    for (int r : node.running) {
      if (std::max(now_, s_.jobs[r].start_time + s_.jobs[r].max_run) > shadow_) continue;
      for (int d = 0; d < dims_; ++d) extra[d] += s_.jobs[r].request[d];
    }
    reservation.nodes.push_back(node.id);
  }
  s_.reservation = std::move(reservation);
}

}  // namespace mlforge::scheduler::detail
