// The pass order (internal): eligible jobs sorted by tenant, then effective priority (high first),
// expected run time (short first), submit time and id.
#pragma once

#include <cstdint>
#include <vector>

#include "scheduler/state.h"

namespace mlforge::scheduler::detail {

// One eligible job: its effective priority as priority_key(), its tenant and its index.
struct OrderKey {
  std::uint64_t key;
  std::uint32_t tenant;
  std::uint32_t job;
};

// Effective priority, descending, as an ascending unsigned integer; -0.0 maps like 0.0 (they
// compare equal as doubles, so they must tie here too).
std::uint64_t priority_key(double effective_priority);

// Sorts `items` into the order above, exactly as a comparison sort on (tenant, priority, expected
// run time, submit time, id) would; the last three come from `keys` (indexed by job).
void sort_pass_order(std::vector<OrderKey>& items, const std::vector<JobKeys>& keys);

}  // namespace mlforge::scheduler::detail
