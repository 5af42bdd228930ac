// Proportional prioritized selection (Schaul et al. 2016): P(i) = w_i / sum_j w_j with
// w_i = (p_i + epsilon)^alpha.
//
// The weights live in an 8-ary float64 sum tree: level 0 holds the leaves, and entry j of level l
// is the sum of entries [8j, 8j + 8) of level l - 1, so the eight children of a node fill one
// 64-byte cache line. A draw descends about log8(N) levels (7 for a million items) reading one
// line per level, where a binary tree reads ~20 nodes. Above the leaves, each level also keeps the
// minimum positive weight and the maximum weight (for importance-weight normalisation, and for the
// default priority of new items: w is increasing in p when alpha > 0, so the largest live priority
// is w_max^(1/alpha) - epsilon). Leaves hold only w, so an update writes one line per level. Every
// changed entry is recomputed from its children, so sums never drift however many updates run.
//
// Batches: between begin_batch() and end_batch() leaves are written at once and their ancestors are
// recomputed level by level, each shared ancestor once, so the independent loads of a level overlap
// in the memory system. pick_many() descends all draws of a batch level by level for the same
// reason, prefetching each draw's next cache line.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <vector>

#include "mlforge/error.h"
#include "replay/selector.h"

namespace mlforge::replay::detail {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::size_t kFanout = 8;

struct Bounds {
  double min = kInf;   // smallest positive weight below
  double max = -kInf;  // largest weight below
};

std::size_t round_up(std::size_t n) { return (n + kFanout - 1) / kFanout * kFanout; }

// Storage aligned to cache lines, so that a group of kFanout sums is exactly one line (malloc's
// 16-byte alignment made every group straddle two: twice the misses per level).
template <class T>
struct LineAligned {
  using value_type = T;
  static constexpr std::align_val_t kAlignment{64};
  LineAligned() = default;
  template <class U>
  LineAligned(const LineAligned<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlignment)); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, kAlignment); }
  friend bool operator==(const LineAligned&, const LineAligned&) { return true; }
};

template <class T>
using LineVector = std::vector<T, LineAligned<T>>;


class PrioritizedSelector final : public ItemSelector {
 public:
  PrioritizedSelector(std::int64_t capacity, double alpha, double epsilon) : alpha_(alpha), epsilon_(epsilon) {
    std::size_t width = round_up(static_cast<std::size_t>(capacity));
    while (true) {
      sums_.emplace_back(width, 0.0);
      bounds_.emplace_back(sums_.size() == 1 ? 0 : width);  // the leaves' bounds are their weights
      marks_.emplace_back(sums_.size() == 1 ? 0 : width, std::uint8_t{0});
      if (width == kFanout) break;
      width = round_up(width / kFanout);
    }
  }

  void insert(std::int64_t slot, double priority, std::uint64_t) override {
    set_leaf(slot, priority);
    ++size_;
  }
  void update(std::int64_t slot, double priority) override { set_leaf(slot, priority); }
  void remove(std::int64_t slot) override {
    const auto leaf = static_cast<std::size_t>(slot);
    sums_[0][leaf] = 0.0;
    changed(leaf);
    --size_;
  }
  std::int64_t size() const override { return size_; }

  void begin_batch() override { batching_ = true; }
  void end_batch() override {
    batching_ = false;
    flush();
  }

  Pick pick(DrawStream& draws) const override {
    Pick out;
    pick_many(draws, 1, &out);
    return out;
  }

  void pick_many(DrawStream& draws, std::int64_t n, Pick* out) const override {
    const double total = this->total();
    MLFORGE_CHECK(total > 0.0, InvalidArgument,
                  "[replay.sample] every live item has sampling weight 0 (priorities 0 with epsilon 0); "
                  "raise epsilon or the priorities");
    targets_.resize(static_cast<std::size_t>(n));
    at_.assign(static_cast<std::size_t>(n), 0);  // the group (of kFanout entries) to scan at the current level
    for (auto& target : targets_) target = draws.uniform() * total;
    for (std::size_t level = sums_.size(); level-- > 0;) {
      const double* sums = sums_[level].data();
      const double* below = level > 0 ? sums_[level - 1].data() : nullptr;
      for (std::size_t i = 0; i < at_.size(); ++i) {
        const double* group = sums + at_[i] * kFanout;
        const double target = targets_[i];
        // The child is the first whose inclusive prefix sum exceeds the target: counting the
        // prefixes <= target finds it without a branch per entry (random targets make such
        // branches mispredict at every level). Weights are >= 0, so that child is non-empty.
        double prefix[kFanout];
        double running = 0.0;
        std::size_t chosen = 0;
        for (std::size_t j = 0; j < kFanout; ++j) {
          running += group[j];
          prefix[j] = running;
          chosen += running <= target ? 1 : 0;
        }
        if (chosen == kFanout) {  // rounding left the target a hair above the group's sum
          chosen = kFanout - 1;   // take the last non-empty entry
          while (chosen > 0 && group[chosen] <= 0.0) --chosen;
        }
        targets_[i] = chosen > 0 ? target - prefix[chosen - 1] : target;
        at_[i] = at_[i] * kFanout + chosen;
        if (below != nullptr) __builtin_prefetch(below + at_[i] * kFanout);
      }
    }
    const double* leaves = sums_[0].data();
    for (std::size_t i = 0; i < at_.size(); ++i) {
      out[i] = {static_cast<std::int64_t>(at_[i]), leaves[at_[i]] / total};
    }
  }

  double min_probability() const override { return size_ == 0 ? 1.0 : root_bounds().min / total(); }
  double total_weight() const override { return total(); }
  void prefetch(std::int64_t slot) const override {
    const auto leaf = static_cast<std::size_t>(slot);
    __builtin_prefetch(sums_[0].data() + leaf, 1);
    if (sums_.size() > 1) {
      __builtin_prefetch(sums_[1].data() + leaf / kFanout, 1);
      __builtin_prefetch(bounds_[1].data() + leaf / kFanout, 1);
    }
  }
  double min_weight() const override { return size_ == 0 ? 0.0 : root_bounds().min; }
  double max_priority() const override {
    if (size_ == 0 || alpha_ == 0.0) return -1.0;  // alpha 0: every weight is 1, the priority is not kept
    return std::max(0.0, std::pow(root_bounds().max, 1.0 / alpha_) - epsilon_);
  }
  std::size_t memory_bytes() const override {
    std::size_t bytes = (dirty_.capacity() + parents_.capacity() + at_.capacity()) * sizeof(std::size_t) +
                        targets_.capacity() * sizeof(double);
    for (std::size_t l = 0; l < sums_.size(); ++l) {
      bytes += sums_[l].capacity() * sizeof(double) + bounds_[l].capacity() * sizeof(Bounds) + marks_[l].capacity();
    }
    return bytes;
  }

 private:
  double total() const {
    double sum = 0.0;
    for (double part : sums_.back()) sum += part;
    return sum;
  }
  Bounds root_bounds() const {
    Bounds out;
    if (sums_.size() == 1) {  // a single group: the leaves themselves
      for (double weight : sums_[0]) {
        if (weight > 0.0) out.min = std::min(out.min, weight);
        out.max = std::max(out.max, weight);
      }
      return out;
    }
    for (const Bounds& part : bounds_.back()) {
      out.min = std::min(out.min, part.min);
      out.max = std::max(out.max, part.max);
    }
    return out;
  }
  void set_leaf(std::int64_t slot, double priority) {
    const auto leaf = static_cast<std::size_t>(slot);
    sums_[0][leaf] = std::pow(priority + epsilon_, alpha_);
    changed(leaf);
  }
  void changed(std::size_t leaf) {
    dirty_.push_back(leaf);
    if (!batching_) flush();
  }
  void recompute(std::size_t level, std::size_t entry) {  // entry of `level` from its children at level - 1
    const double* sums = sums_[level - 1].data() + entry * kFanout;
    double sum = 0.0;
    Bounds out;
    if (level == 1) {
      for (std::size_t j = 0; j < kFanout; ++j) {
        sum += sums[j];
        if (sums[j] > 0.0) out.min = std::min(out.min, sums[j]);
        out.max = std::max(out.max, sums[j]);
      }
    } else {
      const Bounds* bounds = bounds_[level - 1].data() + entry * kFanout;
      for (std::size_t j = 0; j < kFanout; ++j) {
        sum += sums[j];
        out.min = std::min(out.min, bounds[j].min);
        out.max = std::max(out.max, bounds[j].max);
      }
    }
    sums_[level][entry] = sum;
    bounds_[level][entry] = out;
  }
  void flush() {
    if (dirty_.size() > sums_[0].size() / 16) {  // a bulk load: one sweep over every level beats marking parents
      for (std::size_t level = 1; level < sums_.size(); ++level) {
        // entries past the children's count are padding and stay empty
        for (std::size_t entry = 0; entry < sums_[level - 1].size() / kFanout; ++entry) recompute(level, entry);
      }
      dirty_.clear();
      return;
    }
    // Each level's changed entries are the distinct parents of the level below, found with a
    // mark per entry (a sort of random leaves would mispredict on most of its comparisons).
    for (std::size_t level = 1; level < sums_.size(); ++level) {
      std::vector<std::uint8_t>& marked = marks_[level];
      parents_.clear();
      for (std::size_t child : dirty_) {
        const std::size_t parent = child / kFanout;
        if (marked[parent] == 0) {
          parents_.push_back(parent);  // first: if it throws, no mark is left set
          marked[parent] = 1;
        }
      }
      for (std::size_t i = 0; i < parents_.size(); ++i) {
        if (i + 4 < parents_.size()) {
          __builtin_prefetch(sums_[level - 1].data() + parents_[i + 4] * kFanout);
          if (level > 1) __builtin_prefetch(bounds_[level - 1].data() + parents_[i + 4] * kFanout);
        }
        recompute(level, parents_[i]);
        marked[parents_[i]] = 0;
      }
      dirty_.swap(parents_);
    }
    dirty_.clear();
  }

  double alpha_;
  double epsilon_;
  std::int64_t size_ = 0;
  bool batching_ = false;
  std::vector<LineVector<double>> sums_;    // level 0: leaf weights; the last level has kFanout entries
  std::vector<LineVector<Bounds>> bounds_;  // the same shape
  std::vector<std::size_t> dirty_;                 // changed entries of the level being flushed
  std::vector<std::size_t> parents_;               // their parents (flush scratch)
  std::vector<std::vector<std::uint8_t>> marks_;   // per level: entry already among parents_ (all 0 between flushes)
  mutable std::vector<double> targets_;  // scratch for pick_many (the table serialises calls)
  mutable std::vector<std::size_t> at_;
};

}  // namespace

std::unique_ptr<ItemSelector> make_prioritized_selector(std::int64_t capacity, double alpha, double epsilon) {
  return std::make_unique<PrioritizedSelector>(capacity, alpha, epsilon);
}

}  // namespace mlforge::replay::detail
