// SimHash fingerprints and Hamming-distance clustering (see mlforge/dedup/simhash.h).
#include <algorithm>
#include <numeric>

#include "dedup/shingles.h"
#include "mlforge/dedup/simhash.h"
#include "mlforge/parallel.h"

namespace mlforge::dedup {
namespace {

std::int32_t find(std::vector<std::int32_t>& parent, std::int32_t x) {
  while (parent[static_cast<std::size_t>(x)] != x) {
    auto& p = parent[static_cast<std::size_t>(x)];
    p = parent[static_cast<std::size_t>(p)];
    x = p;
  }
  return x;
}

}  // namespace

std::vector<std::int64_t> simhash_fingerprints(const TextBatch& batch, const TokenizerConfig& tokenizer,
                                               std::int32_t ngram, std::uint64_t* fingerprints,
                                               unsigned char* empty) {
  MLFORGE_CHECK(ngram >= 1 && ngram <= 1024, InvalidArgument, "[dedup.simhash] ngram must be in [1, 1024], got ", ngram);
  MLFORGE_CHECK(batch.count >= 0 && (batch.count == 0 || (batch.docs && fingerprints)), InvalidArgument,
                "[dedup.simhash] missing documents or output for ", batch.count, " documents");
  std::vector<unsigned char> invalid(static_cast<std::size_t>(batch.count), 0);
  parallel_for(0, batch.count, 32, [&](std::int64_t lo, std::int64_t hi) {
    std::vector<std::uint64_t> window;
    for (std::int64_t j = lo; j < hi; ++j) {
      std::int64_t votes[64] = {};
      std::int64_t shingles = 0;
      bool had_invalid = false;
      detail::dedup::for_each_shingle(batch.docs[j], j, tokenizer, ngram, batch.replace_invalid, &had_invalid, window,
                                      [&](std::uint64_t h) {
                                        ++shingles;
                                        for (int bit = 0; bit < 64; ++bit) votes[bit] += (h >> bit) & 1;
                                      });
      std::uint64_t fingerprint = 0;
      for (int bit = 0; bit < 64; ++bit) {
        if (2 * votes[bit] > shingles) fingerprint |= std::uint64_t{1} << bit;
      }
      fingerprints[j] = fingerprint;
      if (empty) empty[j] = shingles == 0;
      invalid[static_cast<std::size_t>(j)] = had_invalid;
    }
  });
  std::vector<std::int64_t> indices;
  for (std::int64_t j = 0; j < batch.count; ++j) {
    if (invalid[static_cast<std::size_t>(j)]) indices.push_back(j);
  }
  return indices;
}

std::vector<std::int64_t> simhash_clusters(const std::uint64_t* fingerprints, const unsigned char* empty, std::int64_t n,
                                           std::int32_t max_distance) {
  MLFORGE_CHECK(max_distance >= 0 && max_distance <= 16, InvalidArgument,
                "[dedup.simhash_clusters] max_distance must be in [0, 16], got ", max_distance);
  MLFORGE_CHECK(n >= 0 && n <= INT32_MAX && (n == 0 || fingerprints), InvalidArgument,
                "[dedup.simhash_clusters] bad document count ", n);
  std::vector<std::int32_t> parent(static_cast<std::size_t>(n));
  std::iota(parent.begin(), parent.end(), 0);
  const int blocks = max_distance + 1;
  std::vector<std::pair<std::uint64_t, std::int32_t>> keyed;
  for (int block = 0; block < blocks; ++block) {
    const int lo_bit = 64 * block / blocks, hi_bit = 64 * (block + 1) / blocks;
    const std::uint64_t mask = (hi_bit - lo_bit == 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << (hi_bit - lo_bit)) - 1))
                               << lo_bit;
    keyed.clear();
    for (std::int64_t j = 0; j < n; ++j) {
      if (!(empty && empty[j])) keyed.emplace_back(fingerprints[j] & mask, static_cast<std::int32_t>(j));
    }
    std::sort(keyed.begin(), keyed.end());
    for (std::size_t start = 0; start < keyed.size();) {
      std::size_t stop = start + 1;
      while (stop < keyed.size() && keyed[stop].first == keyed[start].first) ++stop;
      for (std::size_t a = start + 1; a < stop; ++a) {
        const std::int32_t doc = keyed[a].second;
        for (std::size_t b = start; b < a; ++b) {
          const std::int32_t mate = keyed[b].second;
          if (find(parent, doc) == find(parent, mate)) continue;
          if (__builtin_popcountll(fingerprints[doc] ^ fingerprints[mate]) <= max_distance) {
            std::int32_t x = find(parent, doc), y = find(parent, mate);
            if (x > y) std::swap(x, y);
            parent[static_cast<std::size_t>(y)] = x;
          }
        }
      }
      start = stop;
    }
  }
  std::vector<std::int64_t> ids(static_cast<std::size_t>(n));
  for (std::int64_t j = 0; j < n; ++j) ids[static_cast<std::size_t>(j)] = find(parent, static_cast<std::int32_t>(j));
  return ids;
}

}  // namespace mlforge::dedup
