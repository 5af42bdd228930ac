// MinHashIndex files: the configuration, signatures, shingle sets and cluster roots. Buckets are
// rebuilt from the signatures on load (cheaper to recompute than to store).
#include "core/persist.h"
#include "dedup/index_impl.h"

namespace mlforge::dedup {
namespace {

constexpr detail::FileFormat kFormat = {{'M', 'L', 'F', 'D', 'D', 'I', 'D', 'X'}, 1, "dedup.index.save",
                                        "dedup.index.load", "a MinHash index"};

}  // namespace

void MinHashIndex::save(const std::string& path) const {
  const Impl& t = *impl_;
  detail::save_atomically(path, kFormat, [&](detail::FileWriter& out) {
    out.put<std::int32_t>(t.config.num_perm);
    out.put<std::int32_t>(t.config.lsh.bands);
    out.put<std::int32_t>(t.config.lsh.rows);
    out.put<double>(t.config.threshold);
    out.put<std::int32_t>(static_cast<std::int32_t>(t.config.verify));
    out.put(t.config.scheme);
    out.put<IndexStats>(t.counters);
    out.put(t.signatures);
    out.put(t.sets.values);
    out.put(t.sets.offsets);
    std::vector<std::int32_t> roots(t.parent.size());
    for (std::size_t j = 0; j < roots.size(); ++j) roots[j] = t.find_const(static_cast<std::int32_t>(j));
    out.put(roots);
  });
}

MinHashIndex MinHashIndex::load(const std::string& path) {
  const detail::VerifiedFile file(path, kFormat);
  detail::Reader in = file.reader();
  const char* op = "[dedup.index.load]";
  IndexConfig config;
  config.num_perm = in.get<std::int32_t>();
  config.lsh.bands = in.get<std::int32_t>();
  config.lsh.rows = in.get<std::int32_t>();
  config.threshold = in.get<double>();
  config.verify = static_cast<Verify>(in.get<std::int32_t>());
  config.scheme = in.get_string();
  MinHashIndex index = [&] {
    try {
      return MinHashIndex(config);
    } catch (const InvalidArgument& error) {
      throw CorruptData(std::string(op) + " '" + path + "': invalid configuration: " + error.what());
    }
  }();
  Impl& t = *index.impl_;
  const IndexStats counters = in.get<IndexStats>();
  auto signatures = in.get_vector<std::uint32_t>();
  ShingleSets sets;
  sets.values = in.get_vector<std::uint32_t>();
  sets.offsets = in.get_vector<std::int64_t>();
  auto roots = in.get_vector<std::int32_t>();
  const auto n = static_cast<std::int64_t>(roots.size());
  bool consistent = in.at_end() && static_cast<std::int64_t>(signatures.size()) == n * config.num_perm;
  for (std::int64_t j = 0; consistent && j < n; ++j) {
    const std::int32_t root = roots[static_cast<std::size_t>(j)];
    consistent = root >= 0 && root <= j && roots[static_cast<std::size_t>(root)] == root;
  }
  MLFORGE_CHECK(consistent, CorruptData, op, " '", path, "': inconsistent index state");
  const bool with_sets = config.verify == Verify::kJaccard;
  try {
    t.append(signatures.data(), n, with_sets ? &sets : nullptr);
  } catch (const InvalidArgument& error) {
    throw CorruptData(std::string(op) + " '" + path + "': " + error.what());
  }
  t.parent = std::move(roots);
  t.link(0, false);
  t.counters = counters;
  return index;
}

}  // namespace mlforge::dedup
