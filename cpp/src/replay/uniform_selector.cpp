// Uniform selection: a dense array of live slots with each slot's position, so insert, remove
// (swap with the last) and pick are O(1). The array order depends on the removal history, so it
// is part of the checkpoint.
#include <stdexcept>

#include "replay/selector.h"

namespace mlforge::replay::detail {
namespace {

class UniformSelector final : public ItemSelector {
 public:
  explicit UniformSelector(std::int64_t capacity) : position_(static_cast<std::size_t>(capacity), -1) {}

  void insert(std::int64_t slot, double, std::uint64_t) override {
    position_[static_cast<std::size_t>(slot)] = static_cast<std::int64_t>(items_.size());
    items_.push_back(slot);
  }
  void update(std::int64_t, double) override {}
  void remove(std::int64_t slot) override {
    auto& at = position_[static_cast<std::size_t>(slot)];
    if (at < 0) return;
    const std::int64_t last = items_.back();
    items_[static_cast<std::size_t>(at)] = last;
    position_[static_cast<std::size_t>(last)] = at;
    items_.pop_back();
    at = -1;
  }
  std::int64_t size() const override { return static_cast<std::int64_t>(items_.size()); }
  Pick pick(DrawStream& draws) const override {
    const auto n = size();
    return {items_[static_cast<std::size_t>(draws.below(n))], 1.0 / static_cast<double>(n)};
  }
  double min_probability() const override { return items_.empty() ? 1.0 : 1.0 / static_cast<double>(size()); }
  std::vector<std::int64_t> order() const override { return items_; }
  std::size_t memory_bytes() const override { return (items_.capacity() + position_.capacity()) * sizeof(std::int64_t); }
  void restore_order(const std::vector<std::int64_t>& order) override {
    if (order.size() != items_.size()) throw std::logic_error("uniform selector order does not match its items");
    items_ = order;
    for (std::size_t i = 0; i < items_.size(); ++i) position_[static_cast<std::size_t>(items_[i])] = static_cast<std::int64_t>(i);
  }

 private:
  std::vector<std::int64_t> items_;
  std::vector<std::int64_t> position_;
};

}  // namespace

std::unique_ptr<ItemSelector> make_uniform_selector(std::int64_t capacity) {
  return std::make_unique<UniformSelector>(capacity);
}

}  // namespace mlforge::replay::detail
