#include "mlforge/parallel.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>

#include <pthread.h>

#include "mlforge/error.h"
#include "parallel/thread_pool.h"

namespace mlforge {
namespace {

constexpr int kMaxThreads = 1024;

int default_thread_count() {
  const char* env = std::getenv("REACTOR_NUM_THREADS");
  if (env == nullptr || *env == '\0') return std::max(1u, std::thread::hardware_concurrency());
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(env, &end, 10);
  MLFORGE_CHECK(errno == 0 && end != env && *end == '\0' && value >= 1 && value <= kMaxThreads,
                InvalidArgument, "[parallel] REACTOR_NUM_THREADS must be an integer in [1, ", kMaxThreads,
                "], got '", env, "'");
  return static_cast<int>(value);
}

// Readers (running jobs) share the lock; resizing takes it exclusively so no job loses its pool.
struct PoolState {
  std::shared_mutex mutex;
  std::unique_ptr<detail::ThreadPool> pool;
};

// Deliberately never destroyed: worker threads may still be parked when the process exits, and
// static destruction order must not join or free them under a running job.
PoolState* pool_state = nullptr;
std::once_flag pool_state_once;

// After fork() only the forking thread exists in the child: the old pool's workers and any lock
// they held are gone. The child starts over with a fresh state (the old one is leaked on purpose).
void reset_after_fork() { pool_state = new PoolState; }

PoolState& state() {
  std::call_once(pool_state_once, [] {
    pool_state = new PoolState;
    pthread_atfork(nullptr, nullptr, &reset_after_fork);
  });
  return *pool_state;
}

// Set while this thread holds the pool lock inside parallel_for: a nested parallel_for from the
// calling thread then runs inline (re-locking a shared_mutex is undefined behaviour), and
// set_num_threads from inside a parallel body is refused instead of deadlocking.
thread_local bool tls_in_parallel_region = false;

struct ParallelRegion {
  ParallelRegion() { tls_in_parallel_region = true; }
  ~ParallelRegion() { tls_in_parallel_region = false; }
  ParallelRegion(const ParallelRegion&) = delete;
  ParallelRegion& operator=(const ParallelRegion&) = delete;
};

detail::ThreadPool& pool_locked_shared(PoolState& s, std::shared_lock<std::shared_mutex>& lock) {
  if (!s.pool) {
    lock.unlock();
    {
      std::unique_lock exclusive(s.mutex);
      if (!s.pool) s.pool = std::make_unique<detail::ThreadPool>(default_thread_count());
    }
    lock.lock();
  }
  return *s.pool;
}

}  // namespace

int num_threads() {
  PoolState& s = state();
  // Inside a parallel region the pool is pinned by the lock this call chain already holds.
  if (tls_in_parallel_region || detail::current_thread_is_worker()) return s.pool->size();
  std::shared_lock lock(s.mutex);
  return pool_locked_shared(s, lock).size();
}

void set_num_threads(int n) {
  MLFORGE_CHECK(n >= 1 && n <= kMaxThreads, InvalidArgument, "[parallel.set_num_threads] n must be in [1, ",
                kMaxThreads, "], got ", n);
  MLFORGE_CHECK(!tls_in_parallel_region && !detail::current_thread_is_worker(), InvalidArgument,
                "[parallel.set_num_threads] cannot resize the pool from inside parallel_for");
  PoolState& s = state();
  std::unique_lock lock(s.mutex);
  if (s.pool && s.pool->size() == n) return;
  // Build the new pool first: if the system refuses the threads, the old pool stays in service.
  auto replacement = std::make_unique<detail::ThreadPool>(n);
  s.pool.swap(replacement);
  replacement.reset();
}

std::int64_t parallel_chunk_count(std::int64_t begin, std::int64_t end, std::int64_t grain) {
  MLFORGE_CHECK(grain >= 1, InvalidArgument, "[parallel.for] grain must be >= 1, got ", grain);
  if (end <= begin) return 0;
  const std::int64_t n = end - begin;
  const std::int64_t chunk_size = std::max(grain, (n + kMaxChunks - 1) / kMaxChunks);
  return (n + chunk_size - 1) / chunk_size;
}

void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain,
                  const std::function<void(std::int64_t, std::int64_t)>& body) {
  const std::int64_t chunks = parallel_chunk_count(begin, end, grain);
  if (chunks == 0) return;
  const std::int64_t chunk_size = (end - begin + chunks - 1) / chunks;
  auto run_chunk = [&](std::int64_t c) {
    const std::int64_t lo = begin + c * chunk_size;
    body(lo, std::min(end, lo + chunk_size));
  };
  if (chunks == 1 || detail::current_thread_is_worker() || tls_in_parallel_region) {
    for (std::int64_t c = 0; c < chunks; ++c) run_chunk(c);
    return;
  }
  auto job = std::make_shared<detail::ParallelJob>();
  job->run_chunk = run_chunk;
  job->chunk_count = chunks;
  PoolState& s = state();
  std::shared_lock lock(s.mutex);
  detail::ThreadPool& pool = pool_locked_shared(s, lock);
  const ParallelRegion region;
  pool.run(job);
}

}  // namespace mlforge
