// Max-/min-priority selection: an ordered set of (priority, insertion sequence, slot); among equal
// priorities the oldest item comes first. O(log n) per operation.
#include <set>
#include <tuple>
#include <unordered_map>

#include "replay/selector.h"

namespace mlforge::replay::detail {
namespace {

class HeapSelector final : public ItemSelector {
 public:
  explicit HeapSelector(bool largest_first) : largest_first_(largest_first) {}

  void insert(std::int64_t slot, double priority, std::uint64_t seq) override {
    const Entry entry{largest_first_ ? -priority : priority, seq, slot};
    entries_.insert(entry);
    by_slot_[slot] = entry;
  }
  void update(std::int64_t slot, double priority) override {
    auto found = by_slot_.find(slot);
    if (found == by_slot_.end()) return;
    const std::uint64_t seq = std::get<1>(found->second);
    entries_.erase(found->second);
    by_slot_.erase(found);
    insert(slot, priority, seq);
  }
  void remove(std::int64_t slot) override {
    auto found = by_slot_.find(slot);
    if (found == by_slot_.end()) return;
    entries_.erase(found->second);
    by_slot_.erase(found);
  }
  std::int64_t size() const override { return static_cast<std::int64_t>(entries_.size()); }
  Pick pick(DrawStream&) const override { return {std::get<2>(*entries_.begin()), 1.0}; }
  // std::set and unordered_map nodes: the entry plus about three pointers of bookkeeping each.
  std::size_t memory_bytes() const override { return entries_.size() * 2 * (sizeof(Entry) + 4 * sizeof(void*)); }
  double max_priority() const override {
    if (entries_.empty()) return -1.0;
    return largest_first_ ? -std::get<0>(*entries_.begin()) : std::get<0>(*entries_.rbegin());
  }

 private:
  using Entry = std::tuple<double, std::uint64_t, std::int64_t>;  // (ordering priority, seq, slot)
  bool largest_first_;
  std::set<Entry> entries_;
  std::unordered_map<std::int64_t, Entry> by_slot_;
};

}  // namespace

std::unique_ptr<ItemSelector> make_heap_selector(bool largest_first) {
  return std::make_unique<HeapSelector>(largest_first);
}

}  // namespace mlforge::replay::detail
