// FIFO / LIFO selection: a doubly linked list of slots in insertion order; every operation O(1).
#include "replay/selector.h"

namespace mlforge::replay::detail {
namespace {

class OrderedSelector final : public ItemSelector {
 public:
  OrderedSelector(std::int64_t capacity, bool newest_first)
      : newest_first_(newest_first),
        prev_(static_cast<std::size_t>(capacity), -1),
        next_(static_cast<std::size_t>(capacity), -1),
        linked_(static_cast<std::size_t>(capacity), false) {}

  void insert(std::int64_t slot, double, std::uint64_t) override {
    const auto s = static_cast<std::size_t>(slot);
    prev_[s] = tail_;
    next_[s] = -1;
    if (tail_ >= 0) next_[static_cast<std::size_t>(tail_)] = slot; else head_ = slot;
    tail_ = slot;
    linked_[s] = true;
    ++size_;
  }
  void update(std::int64_t, double) override {}
  void remove(std::int64_t slot) override {
    const auto s = static_cast<std::size_t>(slot);
    if (!linked_[s]) return;
    if (prev_[s] >= 0) next_[static_cast<std::size_t>(prev_[s])] = next_[s]; else head_ = next_[s];
    if (next_[s] >= 0) prev_[static_cast<std::size_t>(next_[s])] = prev_[s]; else tail_ = prev_[s];
    linked_[s] = false;
    --size_;
  }
  std::int64_t size() const override { return size_; }
  Pick pick(DrawStream&) const override { return {newest_first_ ? tail_ : head_, 1.0}; }
  std::size_t memory_bytes() const override { return (prev_.capacity() + next_.capacity()) * sizeof(std::int64_t) + linked_.capacity() / 8; }

 private:
  bool newest_first_;
  std::vector<std::int64_t> prev_, next_;
  std::vector<bool> linked_;
  std::int64_t head_ = -1, tail_ = -1, size_ = 0;
};

}  // namespace

std::unique_ptr<ItemSelector> make_ordered_selector(std::int64_t capacity, bool newest_first) {
  return std::make_unique<OrderedSelector>(capacity, newest_first);
}

}  // namespace mlforge::replay::detail
