// The pass order by LSD radix sort: a comparison sort of 100k jobs on five keys took about a third
// of a pass. Tenant and effective priority decide nearly every pair, so the items (16 bytes each)
// are radix-sorted on (tenant, priority as an order-preserving integer) in 11-bit digits, passes
// whose digit is the same for every item skipped; the rare runs of equal priority within a tenant
// are then finished with a comparison sort on the remaining keys.
#include "scheduler/order.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <utility>

namespace mlforge::scheduler::detail {
namespace {

constexpr int kDigitBits = 11;
constexpr std::uint64_t kDigitMask = (1u << kDigitBits) - 1;
constexpr int kKeyPasses = (64 + kDigitBits - 1) / kDigitBits;  // 6
constexpr int kTenantPasses = (32 + kDigitBits - 1) / kDigitBits;  // 3
constexpr int kPasses = kKeyPasses + kTenantPasses;
constexpr std::size_t kSmall = 64;  // below this a comparison sort is cheaper than the histograms

std::uint32_t digit(const OrderKey& k, int pass) {
  return pass < kKeyPasses ? static_cast<std::uint32_t>((k.key >> (kDigitBits * pass)) & kDigitMask)
                           : static_cast<std::uint32_t>((k.tenant >> (kDigitBits * (pass - kKeyPasses))) & kDigitMask);
}

}  // namespace

std::uint64_t priority_key(double effective_priority) {
  if (effective_priority == 0.0) effective_priority = 0.0;  // -0.0 -> 0.0
  const auto bits = std::bit_cast<std::uint64_t>(effective_priority);
  const std::uint64_t ascending = (bits >> 63) ? ~bits : bits | (std::uint64_t{1} << 63);
  return ~ascending;
}

void sort_pass_order(std::vector<OrderKey>& items, const std::vector<JobKeys>& keys) {
  const std::size_t n = items.size();
  auto rest_before = [&keys](const OrderKey& a, const OrderKey& b) {
    const JobKeys& x = keys[a.job];
    const JobKeys& y = keys[b.job];
    if (x.expected_run_time != y.expected_run_time) return x.expected_run_time < y.expected_run_time;
    if (x.submit_time != y.submit_time) return x.submit_time < y.submit_time;
    return x.id < y.id;
  };
  if (n < kSmall) {
    std::sort(items.begin(), items.end(), [&](const OrderKey& a, const OrderKey& b) {
      if (a.tenant != b.tenant) return a.tenant < b.tenant;
      if (a.key != b.key) return a.key < b.key;
      return rest_before(a, b);
    });
    return;
  }
  std::vector<std::array<std::uint32_t, kDigitMask + 1>> counts(kPasses);
  for (const auto& item : items) {
    for (int p = 0; p < kPasses; ++p) ++counts[p][digit(item, p)];
  }
  std::vector<OrderKey> other(n);
  for (int p = 0; p < kPasses; ++p) {
    auto& count = counts[p];
    if (count[digit(items[0], p)] == n) continue;  // every item has this digit: the pass changes nothing
    std::uint32_t sum = 0;
    for (auto& c : count) sum += std::exchange(c, sum);
    for (const auto& item : items) other[count[digit(item, p)]++] = item;
    items.swap(other);
  }
  for (std::size_t lo = 0; lo < n;) {  // ties on (tenant, priority): the remaining keys decide
    std::size_t hi = lo + 1;
    while (hi < n && items[hi].key == items[lo].key && items[hi].tenant == items[lo].tenant) ++hi;
    if (hi - lo > 1) std::sort(items.begin() + static_cast<std::ptrdiff_t>(lo),
                               items.begin() + static_cast<std::ptrdiff_t>(hi), rest_before);
    lo = hi;
  }
}

}  // namespace mlforge::scheduler::detail
