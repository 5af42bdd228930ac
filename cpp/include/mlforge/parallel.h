// The engine's shared parallel runtime.
//
// One process-wide thread pool. Its size comes from REACTOR_NUM_THREADS (a positive integer) or,
// when unset, the number of hardware threads; set_num_threads() changes it. The calling thread
// always takes part in the work, so a pool of size N has N-1 workers.
//
// Determinism: work is split into chunks that depend only on (begin, end, grain), never on the
// thread count, and parallel_reduce combines chunk results in chunk order. Results are therefore
// bit-identical for 1 and N threads, provided `body` writes only to its own range.
//
// Blocking and thread-safety: parallel_for blocks the caller until every chunk has finished. Any
// number of threads may call it concurrently (e.g. Python threads with the GIL released); their
// chunks share the pool. A call made from inside a worker runs serially inline, so nesting never
// deadlocks. set_num_threads() waits for running work to finish before resizing.
//
// Errors: if a chunk throws, the remaining chunks are skipped and the first exception is rethrown
// in the caller. REACTOR_NUM_THREADS that is not a positive integer gives InvalidArgument.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "mlforge/api.h"

namespace mlforge {

/// Current pool size (workers + the calling thread), >= 1.
MLFORGE_API int num_threads();

/// Resizes the pool. Throws InvalidArgument unless 1 <= n <= 1024.
MLFORGE_API void set_num_threads(int n);

/// Number of chunks parallel_for uses for [begin, end) with the given grain (minimum chunk size).
/// At most kMaxChunks chunks are made; chunk size grows for larger ranges.
MLFORGE_API std::int64_t parallel_chunk_count(std::int64_t begin, std::int64_t end, std::int64_t grain);

inline constexpr std::int64_t kMaxChunks = 4096;

/// Runs body(chunk_begin, chunk_end) over deterministic chunks of [begin, end).
/// Throws InvalidArgument when grain < 1; an empty range does nothing.
MLFORGE_API void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain,
                              const std::function<void(std::int64_t, std::int64_t)>& body);

/// Reduces [begin, end): map(chunk_begin, chunk_end) gives one value per chunk and the values
/// are folded left to right with combine, starting from identity. Deterministic (see above).
template <class T, class Map, class Combine>
T parallel_reduce(std::int64_t begin, std::int64_t end, std::int64_t grain, T identity, Map map,
                  Combine combine) {
  const std::int64_t chunks = parallel_chunk_count(begin, end, grain);
  if (chunks == 0) return identity;
  const std::int64_t chunk_size = (end - begin + chunks - 1) / chunks;
  std::vector<T> partials(static_cast<std::size_t>(chunks), identity);
  parallel_for(0, chunks, 1, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t c = first; c < last; ++c) {
      const std::int64_t lo = begin + c * chunk_size;
      const std::int64_t hi = lo + chunk_size < end ? lo + chunk_size : end;
      partials[static_cast<std::size_t>(c)] = map(lo, hi);
    }
  });
  T result = identity;
  for (const T& partial : partials) result = combine(result, partial);
  return result;
}

}  // namespace mlforge
