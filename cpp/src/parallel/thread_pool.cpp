#include "parallel/thread_pool.h"

#include <algorithm>
#include <string>
#include <system_error>

#include "mlforge/error.h"

namespace mlforge::detail {
namespace {
// Set on pool workers so that a nested parallel_for runs inline instead of waiting on the pool it
// is part of (which could deadlock when every worker waits).
thread_local bool tls_is_worker = false;
}  // namespace

bool current_thread_is_worker() { return tls_is_worker; }

void ParallelJob::work() {
  for (;;) {
    const std::int64_t chunk = next_chunk.fetch_add(1, std::memory_order_relaxed);
    if (chunk >= chunk_count) return;
    if (!failed.load(std::memory_order_relaxed)) {
      try {
        run_chunk(chunk);
      } catch (...) {
        bool expected = false;
        if (failed.compare_exchange_strong(expected, true)) error = std::current_exception();
      }
    }
    if (finished_chunks.fetch_add(1, std::memory_order_acq_rel) + 1 == chunk_count) {
      std::lock_guard lock(done_mutex);
      done.notify_all();
    }
  }
}

ThreadPool::ThreadPool(int threads) {
  workers_.reserve(static_cast<std::size_t>(std::max(0, threads - 1)));
  try {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
  } catch (const std::system_error& error) {
    // Destroying joinable threads would terminate the process: stop the ones that started.
    stop_and_join();
    throw CapacityExceeded(std::string("[parallel] could not start ") + std::to_string(threads - 1) +
                           " worker threads: " + error.what());
  }
}

ThreadPool::~ThreadPool() { stop_and_join(); }

void ThreadPool::stop_and_join() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_changed_.notify_all();
  for (auto& worker : workers_) worker.join();
  workers_.clear();
}

void ThreadPool::worker_loop() {
  tls_is_worker = true;
  for (;;) {
    std::shared_ptr<ParallelJob> job;
    {
      std::unique_lock lock(queue_mutex_);
      queue_changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = queue_.front();
      // Once every chunk is claimed nobody else needs to find this job.
      if (job->next_chunk.load(std::memory_order_relaxed) >= job->chunk_count) {
        queue_.pop_front();
        continue;
      }
    }
    job->work();
  }
}

void ThreadPool::run(const std::shared_ptr<ParallelJob>& job) {
  if (!workers_.empty() && job->chunk_count > 1) {
    {
      std::lock_guard lock(queue_mutex_);
      queue_.push_back(job);
    }
    queue_changed_.notify_all();
  }
  job->work();
  {
    std::unique_lock lock(job->done_mutex);
    job->done.wait(lock, [&] { return job->complete(); });
  }
  {
    std::lock_guard lock(queue_mutex_);
    auto it = std::find(queue_.begin(), queue_.end(), job);
    if (it != queue_.end()) queue_.erase(it);
  }
  if (job->error) std::rethrow_exception(job->error);
}

}  // namespace mlforge::detail
