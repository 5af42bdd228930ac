// MinHashIndex internals: band bucket tables, bucket chains and the union-find. Internal.
#pragma once

#include <cstdint>
#include <vector>

#include "mlforge/dedup/minhash.h"

namespace mlforge::dedup {

/// Open-addressing map from a band key to the first and last document of its bucket chain.
class BandTable {
 public:
  struct Slot {
    std::uint64_t key;
    std::int32_t head;  // -1: empty slot
    std::int32_t tail;
  };
  /// The slot for key, created empty-chained (head == -1 after creation is never observed: the
  /// caller links a document at once).
  Slot& find_or_insert(std::uint64_t key, bool* created);
  const Slot* find(std::uint64_t key) const;
  std::int64_t memory_bytes() const { return static_cast<std::int64_t>(slots_.capacity() * sizeof(Slot)); }

 private:
  void grow();
  std::vector<Slot> slots_;
  std::size_t used_ = 0;
};

struct MinHashIndex::Impl {
  IndexConfig config;
  std::vector<std::uint32_t> signatures;      // size * num_perm
  ShingleSets sets;                           // used only with Verify::kJaccard
  std::vector<std::int32_t> parent;           // union-find; a root is the smallest id of its set
  std::vector<std::vector<std::int32_t>> next;  // per band: next document in the bucket chain, -1 at the end
  std::vector<BandTable> tables;              // per band
  IndexStats counters;

  explicit Impl(const IndexConfig& c);
  std::int64_t size() const { return static_cast<std::int64_t>(parent.size()); }

  /// Band keys [n, bands] of n signature rows; empty documents (all rows 0xFFFFFFFF) get no keys and
  /// are flagged in `empty`.
  void band_keys(const std::uint32_t* rows, std::int64_t n, std::vector<std::uint64_t>& keys,
                 std::vector<unsigned char>& empty) const;
  /// Whether documents (or a query and a document) are similar enough, per config.verify.
  bool verified(const std::uint32_t* sig_a, const std::uint32_t* set_a, std::int64_t set_a_size, std::int64_t b) const;
  /// Signature rows document b shares with sig_a.
  std::int64_t equal_rows(const std::uint32_t* sig_a, std::int64_t b) const;
  std::int32_t find(std::int32_t x);
  std::int32_t find_const(std::int32_t x) const;
  void unite(std::int32_t a, std::int32_t b);
  /// Appends documents' signatures and sets without linking them into buckets.
  void append(const std::uint32_t* rows, std::int64_t n, const ShingleSets* new_sets);
  /// Links documents [first, size()) into the buckets; with `verify_candidates` each bucket-mate not
  /// yet connected is verified and unioned (false when restoring a saved union-find).
  void link(std::int64_t first, bool verify_candidates);
};

}  // namespace mlforge::dedup
