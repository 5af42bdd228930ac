// MinHashIndex: buckets, verification and union-find (see mlforge/dedup/minhash.h).
//
// Documents are linked into bucket chains one at a time, in id order; a new document is verified
// against each bucket-mate not already in its component. Skipping connected pairs never changes the
// components, so the clusters equal the connected components of the whole verified candidate graph,
// whatever the batch sizes, merge order or thread count.
#include <algorithm>
#include <limits>

#include "dedup/hash.h"
#include "dedup/index_impl.h"
#include "mlforge/error.h"
#include "mlforge/parallel.h"

namespace mlforge::dedup {
namespace {

constexpr std::uint32_t kEmptyRow = 0xFFFFFFFFU;

void check_sets(const ShingleSets* sets, std::int64_t n, const char* op) {
  MLFORGE_CHECK(sets != nullptr, InvalidArgument, "[", op, "] verify=jaccard needs shingle sets");
  MLFORGE_CHECK(static_cast<std::int64_t>(sets->offsets.size()) == n + 1 && sets->offsets.front() == 0 &&
                    sets->offsets.back() == static_cast<std::int64_t>(sets->values.size()),
                InvalidArgument, "[", op, "] shingle sets hold ", static_cast<std::int64_t>(sets->offsets.size()) - 1,
                " documents with ", sets->values.size(), " values, expected ", n, " documents");
  for (std::int64_t j = 0; j < n; ++j) {
    MLFORGE_CHECK(sets->offsets[j] <= sets->offsets[j + 1], InvalidArgument, "[", op,
                  "] shingle set offsets decrease at document ", j);
  }
}

struct Overlap {
  std::int64_t common = 0, total = 0;  // |A intersect B| and |A union B|
};

// The overlap of A and B, the distinct values of two shingle lists (repeats allowed). One
// open-addressing table marks each value's membership, so the cost is linear and the lists need no
// sorting when they are built (which would cost more than signing).
Overlap overlap(const std::uint32_t* a, std::int64_t na, const std::uint32_t* b, std::int64_t nb) {
  if (na == 0 || nb == 0) return {};
  thread_local std::vector<std::uint64_t> table;  // (value << 2) | membership bits; 0 is an empty slot
  std::size_t capacity = 16;
  while (capacity < 2 * static_cast<std::size_t>(na + nb)) capacity *= 2;
  table.assign(capacity, 0);
  const std::size_t mask = capacity - 1;
  std::int64_t distinct_a = 0, distinct_b = 0, common = 0;
  auto slot_of = [&](std::uint32_t v) -> std::uint64_t& {
    std::size_t i = (std::uint64_t{v} * 0x9E3779B97F4A7C15ULL) >> 40 & mask;
    while (table[i] != 0 && (table[i] >> 2) != v) i = (i + 1) & mask;
    return table[i];
  };
  for (std::int64_t k = 0; k < na; ++k) {
    std::uint64_t& slot = slot_of(a[k]);
    if (slot == 0) slot = (std::uint64_t{a[k]} << 2) | 1, ++distinct_a;
  }
  for (std::int64_t k = 0; k < nb; ++k) {
    std::uint64_t& slot = slot_of(b[k]);
    if (slot == 0) {
      slot = (std::uint64_t{b[k]} << 2) | 2, ++distinct_b;
    } else if (!(slot & 2)) {
      slot |= 2, ++distinct_b;
      common += static_cast<std::int64_t>(slot & 1);
    }
  }
  return {common, distinct_a + distinct_b - common};
}

}  // namespace

BandTable::Slot& BandTable::find_or_insert(std::uint64_t key, bool* created) {
  if ((used_ + 1) * 4 > slots_.size() * 3) grow();  // load factor <= 3/4
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = detail::dedup::fmix64(key) & mask;; i = (i + 1) & mask) {
    Slot& slot = slots_[i];
    if (slot.head < 0) {
      slot.key = key;
      ++used_;
      *created = true;
      return slot;
    }
    if (slot.key == key) {
      *created = false;
      return slot;
    }
  }
}

const BandTable::Slot* BandTable::find(std::uint64_t key) const {
  if (slots_.empty()) return nullptr;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = detail::dedup::fmix64(key) & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.head < 0) return nullptr;
    if (slot.key == key) return &slot;
  }
}

void BandTable::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{0, -1, -1});
  used_ = 0;
  const std::size_t mask = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.head < 0) continue;
    std::size_t i = detail::dedup::fmix64(slot.key) & mask;
    while (slots_[i].head >= 0) i = (i + 1) & mask;
    slots_[i] = slot;
    ++used_;
  }
}

MinHashIndex::Impl::Impl(const IndexConfig& c) : config(c) {
  MLFORGE_CHECK(c.num_perm >= 1, InvalidArgument, "[dedup.index] num_perm must be >= 1, got ", c.num_perm);
  MLFORGE_CHECK(c.lsh.bands >= 1 && c.lsh.rows >= 1 && static_cast<std::int64_t>(c.lsh.bands) * c.lsh.rows <= c.num_perm,
                InvalidArgument, "[dedup.index] bands x rows must be >= 1 x 1 and at most num_perm (", c.num_perm,
                "), got ", c.lsh.bands, " x ", c.lsh.rows);
  MLFORGE_CHECK(c.threshold > 0.0 && c.threshold <= 1.0, InvalidArgument,
                "[dedup.index] threshold must be in (0, 1], got ", c.threshold);
  MLFORGE_CHECK(c.verify == Verify::kNone || c.verify == Verify::kMinHash || c.verify == Verify::kJaccard,
                InvalidArgument, "[dedup.index] unknown verify mode ", static_cast<int>(c.verify));
  next.resize(static_cast<std::size_t>(c.lsh.bands));
  tables.resize(static_cast<std::size_t>(c.lsh.bands));
}

void MinHashIndex::Impl::band_keys(const std::uint32_t* rows, std::int64_t n, std::vector<std::uint64_t>& keys,
                                   std::vector<unsigned char>& empty) const {
  const std::int32_t P = config.num_perm, B = config.lsh.bands, R = config.lsh.rows;
  keys.assign(static_cast<std::size_t>(n * B), 0);
  empty.assign(static_cast<std::size_t>(n), 0);
  parallel_for(0, n, 256, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t j = lo; j < hi; ++j) {
      const std::uint32_t* sig = rows + j * P;
      empty[static_cast<std::size_t>(j)] = std::all_of(sig, sig + P, [](std::uint32_t v) { return v == kEmptyRow; });
      for (std::int32_t band = 0; band < B; ++band) {
        detail::dedup::SequenceHasher key(0x3C6EF372FE94F82BULL + static_cast<std::uint64_t>(band));
        for (std::int32_t r = 0; r < R; ++r) key.push(sig[band * R + r]);
        keys[static_cast<std::size_t>(j * B + band)] = key.finish();
      }
    }
  });
}

bool MinHashIndex::Impl::verified(const std::uint32_t* sig_a, const std::uint32_t* set_a, std::int64_t set_a_size,
                                  std::int64_t b) const {
  switch (config.verify) {
    case Verify::kNone:
      return true;
    case Verify::kMinHash:
      return static_cast<double>(equal_rows(sig_a, b)) >= config.threshold * config.num_perm;
    case Verify::kJaccard:
    default: {
      const std::int64_t lo = sets.offsets[static_cast<std::size_t>(b)], hi = sets.offsets[static_cast<std::size_t>(b) + 1];
      const Overlap o = overlap(set_a, set_a_size, sets.values.data() + lo, hi - lo);
      return o.total > 0 && static_cast<double>(o.common) >= config.threshold * static_cast<double>(o.total);
    }
  }
}

std::int64_t MinHashIndex::Impl::equal_rows(const std::uint32_t* sig_a, std::int64_t b) const {
  const std::uint32_t* sig_b = signatures.data() + b * config.num_perm;
  std::int64_t equal = 0;
  for (std::int32_t i = 0; i < config.num_perm; ++i) equal += sig_a[i] == sig_b[i];
  return equal;
}

std::int32_t MinHashIndex::Impl::find(std::int32_t x) {
  while (parent[static_cast<std::size_t>(x)] != x) {
    auto& p = parent[static_cast<std::size_t>(x)];
    p = parent[static_cast<std::size_t>(p)];  // path halving
    x = p;
  }
  return x;
}

std::int32_t MinHashIndex::Impl::find_const(std::int32_t x) const {
  while (parent[static_cast<std::size_t>(x)] != x) x = parent[static_cast<std::size_t>(x)];
  return x;
}

void MinHashIndex::Impl::unite(std::int32_t a, std::int32_t b) {
  a = find(a), b = find(b);
  if (a == b) return;
  if (a > b) std::swap(a, b);
  parent[static_cast<std::size_t>(b)] = a;  // the smaller id stays the root: it is the cluster id
}

void MinHashIndex::Impl::append(const std::uint32_t* rows, std::int64_t n, const ShingleSets* new_sets) {
  MLFORGE_CHECK(n >= 0 && (n == 0 || rows != nullptr), InvalidArgument, "[dedup.index] ", n,
                " documents without signatures");
  MLFORGE_CHECK(size() + n <= std::numeric_limits<std::int32_t>::max(), InvalidArgument,
                "[dedup.index] an index holds at most 2^31 - 1 documents; adding ", n, " to ", size());
  if (config.verify == Verify::kJaccard) {
    check_sets(new_sets, n, "dedup.index");
    const std::int64_t base = static_cast<std::int64_t>(sets.values.size());
    sets.values.insert(sets.values.end(), new_sets->values.begin(), new_sets->values.end());
    for (std::int64_t j = 1; j <= n; ++j) sets.offsets.push_back(base + new_sets->offsets[static_cast<std::size_t>(j)]);
  }
  signatures.insert(signatures.end(), rows, rows + n * config.num_perm);
  const std::int64_t first = size();
  for (std::int64_t j = 0; j < n; ++j) parent.push_back(static_cast<std::int32_t>(first + j));
  for (auto& chain : next) chain.resize(parent.size(), -1);
  counters.documents = size();
}

void MinHashIndex::Impl::link(std::int64_t first, bool verify_candidates) {
  const std::int64_t n = size() - first;
  const std::int32_t B = config.lsh.bands;
  std::vector<std::uint64_t> keys;
  std::vector<unsigned char> empty;
  band_keys(signatures.data() + first * config.num_perm, n, keys, empty);
  for (std::int64_t j = 0; j < n; ++j) {
    if (empty[static_cast<std::size_t>(j)]) continue;  // an empty document is nobody's duplicate
    const auto doc = static_cast<std::int32_t>(first + j);
    const std::uint32_t* sig = signatures.data() + static_cast<std::int64_t>(doc) * config.num_perm;
    const std::uint32_t* set = nullptr;
    std::int64_t set_size = 0;
    if (config.verify == Verify::kJaccard) {
      set = sets.values.data() + sets.offsets[static_cast<std::size_t>(doc)];
      set_size = sets.offsets[static_cast<std::size_t>(doc) + 1] - sets.offsets[static_cast<std::size_t>(doc)];
    }
    for (std::int32_t band = 0; band < B; ++band) {
      bool created = false;
      BandTable::Slot& slot = tables[static_cast<std::size_t>(band)].find_or_insert(keys[static_cast<std::size_t>(j * B + band)], &created);
      auto& chain = next[static_cast<std::size_t>(band)];
      if (created) {
        slot.head = slot.tail = doc;
        continue;
      }
      if (verify_candidates) {
        for (std::int32_t mate = slot.head; mate >= 0; mate = chain[static_cast<std::size_t>(mate)]) {
          if (find(mate) == find(doc)) continue;
          ++counters.candidate_pairs;
          if (verified(sig, set, set_size, mate)) {
            unite(mate, doc);
            ++counters.verified_pairs;
          } else {
            ++counters.rejected_pairs;
          }
        }
      }
      chain[static_cast<std::size_t>(slot.tail)] = doc;
      slot.tail = doc;
    }
  }
}

MinHashIndex::MinHashIndex(const IndexConfig& config) : impl_(std::make_unique<Impl>(config)) {}
MinHashIndex::~MinHashIndex() = default;
MinHashIndex::MinHashIndex(MinHashIndex&&) noexcept = default;
MinHashIndex& MinHashIndex::operator=(MinHashIndex&&) noexcept = default;

const IndexConfig& MinHashIndex::config() const { return impl_->config; }
std::int64_t MinHashIndex::size() const { return impl_->size(); }

IndexStats MinHashIndex::stats() const {
  IndexStats s = impl_->counters;
  const Impl& t = *impl_;
  std::int64_t bytes = static_cast<std::int64_t>(t.signatures.capacity() * sizeof(std::uint32_t) +
                                                 t.sets.values.capacity() * sizeof(std::uint32_t) +
                                                 t.sets.offsets.capacity() * sizeof(std::int64_t) +
                                                 t.parent.capacity() * sizeof(std::int32_t));
  for (const auto& chain : t.next) bytes += static_cast<std::int64_t>(chain.capacity() * sizeof(std::int32_t));
  for (const auto& table : t.tables) bytes += table.memory_bytes();
  s.memory_bytes = bytes;
  return s;
}

std::int64_t MinHashIndex::add(const std::uint32_t* signatures, std::int64_t n, const ShingleSets* sets) {
  const std::int64_t first = size();
  impl_->append(signatures, n, sets);
  impl_->link(first, true);
  return first;
}

std::vector<std::int64_t> MinHashIndex::query(const std::uint32_t* signatures, std::int64_t n,
                                              const ShingleSets* sets) const {
  const Impl& t = *impl_;
  MLFORGE_CHECK(n >= 0 && (n == 0 || signatures != nullptr), InvalidArgument, "[dedup.index.query] ", n,
                " documents without signatures");
  if (t.config.verify == Verify::kJaccard) check_sets(sets, n, "dedup.index.query");
  std::vector<std::uint64_t> keys;
  std::vector<unsigned char> empty;
  t.band_keys(signatures, n, keys, empty);
  const std::int32_t B = t.config.lsh.bands;
  std::vector<std::int64_t> result(static_cast<std::size_t>(n), -1);
  parallel_for(0, n, 64, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t j = lo; j < hi; ++j) {
      if (empty[static_cast<std::size_t>(j)]) continue;
      const std::uint32_t* sig = signatures + j * t.config.num_perm;
      const std::uint32_t* set = nullptr;
      std::int64_t set_size = 0;
      if (t.config.verify == Verify::kJaccard) {
        set = sets->values.data() + sets->offsets[static_cast<std::size_t>(j)];
        set_size = sets->offsets[static_cast<std::size_t>(j) + 1] - sets->offsets[static_cast<std::size_t>(j)];
      }
      std::int64_t best = -1;
      for (std::int32_t band = 0; band < B; ++band) {
        const BandTable::Slot* slot = t.tables[static_cast<std::size_t>(band)].find(keys[static_cast<std::size_t>(j * B + band)]);
        if (!slot) continue;
        const auto& chain = t.next[static_cast<std::size_t>(band)];
        for (std::int32_t mate = slot->head; mate >= 0; mate = chain[static_cast<std::size_t>(mate)]) {
          const std::int32_t root = t.find_const(mate);
          if (best >= 0 && root >= best) continue;  // cannot lower the answer
          if (t.verified(sig, set, set_size, mate)) best = root;
        }
      }
      result[static_cast<std::size_t>(j)] = best;
    }
  });
  return result;
}

std::vector<std::int64_t> MinHashIndex::clusters() const {
  std::vector<std::int64_t> ids(static_cast<std::size_t>(size()));
  for (std::int64_t j = 0; j < size(); ++j) ids[static_cast<std::size_t>(j)] = impl_->find_const(static_cast<std::int32_t>(j));
  return ids;
}

std::vector<double> MinHashIndex::similarity(const std::int64_t* a, const std::int64_t* b, std::int64_t n) const {
  const Impl& t = *impl_;
  MLFORGE_CHECK(n >= 0 && (n == 0 || (a && b)), InvalidArgument, "[dedup.index.similarity] bad pair count ", n);
  for (std::int64_t k = 0; k < n; ++k) {
    MLFORGE_CHECK(a[k] >= 0 && a[k] < size() && b[k] >= 0 && b[k] < size(), OutOfRange,
                  "[dedup.index.similarity] pair ", k, " = (", a[k], ", ", b[k], ") is outside [0, ", size(), ")");
  }
  std::vector<double> out(static_cast<std::size_t>(n));
  parallel_for(0, n, 256, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t k = lo; k < hi; ++k) {
      if (t.config.verify == Verify::kJaccard) {
        const auto at = [&](std::int64_t doc) { return t.sets.offsets[static_cast<std::size_t>(doc)]; };
        const Overlap o = overlap(t.sets.values.data() + at(a[k]), at(a[k] + 1) - at(a[k]),
                                  t.sets.values.data() + at(b[k]), at(b[k] + 1) - at(b[k]));
        out[static_cast<std::size_t>(k)] = o.total > 0 ? static_cast<double>(o.common) / static_cast<double>(o.total) : 0.0;
      } else {
        const std::uint32_t* sig_a = t.signatures.data() + a[k] * t.config.num_perm;
        out[static_cast<std::size_t>(k)] = static_cast<double>(t.equal_rows(sig_a, b[k])) / t.config.num_perm;
      }
    }
  });
  return out;
}

void MinHashIndex::merge(const MinHashIndex& other) {
  const IndexConfig& a = impl_->config;
  const IndexConfig& b = other.impl_->config;
  MLFORGE_CHECK(a.num_perm == b.num_perm && a.lsh.bands == b.lsh.bands && a.lsh.rows == b.lsh.rows &&
                    a.threshold == b.threshold && a.verify == b.verify && a.scheme == b.scheme,
                InvalidArgument, "[dedup.index.merge] the indexes differ in configuration ('", a.scheme, "' ",
                a.lsh.bands, "x", a.lsh.rows, " t=", a.threshold, " vs '", b.scheme, "' ", b.lsh.bands, "x",
                b.lsh.rows, " t=", b.threshold, ")");
  MLFORGE_CHECK(&other != this, InvalidArgument, "[dedup.index.merge] cannot merge an index into itself");
  const Impl& o = *other.impl_;
  add(o.signatures.data(), o.size(), a.verify == Verify::kJaccard ? &o.sets : nullptr);
}

}  // namespace mlforge::dedup
