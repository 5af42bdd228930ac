// Proportional prioritized selection (Schaul et al. 2016): P(i) = w_i / sum_j w_j with
// w_i = (p_i + epsilon)^alpha. A float64 segment tree over a power-of-two number of leaves keeps
// per node the sum and the minimum of w and the maximum raw priority p; every changed node is
// recomputed from its children, so sums never drift however many updates run.
#include <algorithm>
#include <cmath>
#include <limits>

#include "mlforge/error.h"
#include "replay/selector.h"

namespace mlforge::replay::detail {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

class PrioritizedSelector final : public ItemSelector {
 public:
  PrioritizedSelector(std::int64_t capacity, double alpha, double epsilon) : alpha_(alpha), epsilon_(epsilon) {
    while (leaves_ < capacity) leaves_ *= 2;
    sum_.assign(static_cast<std::size_t>(2 * leaves_), 0.0);
    min_.assign(static_cast<std::size_t>(2 * leaves_), kInf);
    max_.assign(static_cast<std::size_t>(2 * leaves_), -kInf);
  }

  void insert(std::int64_t slot, double priority, std::uint64_t) override {
    set(slot, priority);
    ++size_;
  }
  void update(std::int64_t slot, double priority) override { set(slot, priority); }
  void remove(std::int64_t slot) override {
    const auto leaf = static_cast<std::size_t>(leaves_ + slot);
    sum_[leaf] = 0.0;
    min_[leaf] = kInf;
    max_[leaf] = -kInf;
    propagate(leaf);
    --size_;
  }
  std::int64_t size() const override { return size_; }

  Pick pick(DrawStream& draws) const override {
    const double total = sum_[1];
    MLFORGE_CHECK(total > 0.0, InvalidArgument,
                  "[replay.sample] every live item has sampling weight 0 (priorities 0 with epsilon 0); "
                  "raise epsilon or the priorities");
    double target = draws.uniform() * total;
    std::size_t node = 1;
    while (node < static_cast<std::size_t>(leaves_)) {
      const std::size_t left = 2 * node;
      // Rounding can leave `target` a hair above a subtree's sum: never descend into a zero subtree.
      if ((target < sum_[left] && sum_[left] > 0.0) || sum_[left + 1] <= 0.0) {
        node = left;
      } else {
        target -= sum_[left];
        node = left + 1;
      }
    }
    return {static_cast<std::int64_t>(node) - leaves_, sum_[node] / total};
  }

  double min_probability() const override { return size_ == 0 ? 1.0 : min_[1] / sum_[1]; }
  double max_priority() const override { return size_ == 0 ? -1.0 : max_[1]; }

 private:
  void set(std::int64_t slot, double priority) {
    const auto leaf = static_cast<std::size_t>(leaves_ + slot);
    const double weight = std::pow(priority + epsilon_, alpha_);
    sum_[leaf] = weight;
    min_[leaf] = weight;
    max_[leaf] = priority;
    propagate(leaf);
  }
  void propagate(std::size_t node) {
    for (node /= 2; node >= 1; node /= 2) {
      sum_[node] = sum_[2 * node] + sum_[2 * node + 1];
      min_[node] = std::min(min_[2 * node], min_[2 * node + 1]);
      max_[node] = std::max(max_[2 * node], max_[2 * node + 1]);
    }
  }

  double alpha_;
  double epsilon_;
  std::int64_t leaves_ = 1;
  std::int64_t size_ = 0;
  std::vector<double> sum_, min_, max_;
};

}  // namespace

std::unique_ptr<ItemSelector> make_prioritized_selector(std::int64_t capacity, double alpha, double epsilon) {
  return std::make_unique<PrioritizedSelector>(capacity, alpha, epsilon);
}

}  // namespace mlforge::replay::detail
