// The process-wide pool behind mlforge/parallel.h. Internal.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace mlforge::detail {

// One parallel_for call: chunks are claimed through an atomic counter by the caller and workers.
struct ParallelJob {
  std::function<void(std::int64_t)> run_chunk;
  std::int64_t chunk_count = 0;
  std::atomic<std::int64_t> next_chunk{0};
  std::atomic<std::int64_t> finished_chunks{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;  // written once, by whichever chunk failed first
  std::mutex done_mutex;
  std::condition_variable done;

  // Claims and runs chunks until none are left. Returns once this thread can claim no more.
  void work();
  bool complete() const { return finished_chunks.load(std::memory_order_acquire) == chunk_count; }
};

// True on pool worker threads.
bool current_thread_is_worker();

class ThreadPool {
 public:
  // Starts threads - 1 workers; throws CapacityExceeded (after stopping any that started) when the
  // system refuses more threads.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  // Runs the job to completion on the caller plus the workers; rethrows the first chunk error.
  void run(const std::shared_ptr<ParallelJob>& job);

 private:
  void worker_loop();
  void stop_and_join();

  std::mutex queue_mutex_;
  std::condition_variable queue_changed_;
  std::deque<std::shared_ptr<ParallelJob>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace mlforge::detail
