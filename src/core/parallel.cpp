#include "cnn/core/parallel.hpp"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace cnn {

namespace {

// A fixed set of worker threads that run chunks 1..k-1 of a parallel_for while the calling
// thread runs chunk 0. One parallel_for at a time (the kernels never nest them).
//
// A training step makes a few dozen parallel_for calls of tens of microseconds each, so waking a
// sleeping thread (several microseconds each way) would eat much of the gain. Workers and the
// caller therefore spin for a short while on atomic counters before they fall back to sleeping on
// a condition variable; an idle pool sleeps and costs nothing.
class ThreadPool {
 public:
  explicit ThreadPool(std::size_t workers) {
    threads_.reserve(workers);
    for (std::size_t i = 0; i < workers; ++i) {
      threads_.emplace_back([this, i] { work(i + 1); });
    }
  }

  ~ThreadPool() {
    stopping_.store(true, std::memory_order_release);
    wake(start_);
    for (auto& t : threads_) t.join();
  }

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void run(std::size_t count, std::size_t chunks, const ChunkBody& body) {
    body_ = &body;
    count_ = count;
    chunks_ = chunks;
    // Every worker acknowledges every run, even one with no chunk for it, so none can still be
    // reading these fields when the next run rewrites them.
    pending_.store(threads_.size(), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);  // publishes the fields above
    wake(start_);
    body(0, 0, count / chunks);
    wait_until([this] { return pending_.load(std::memory_order_acquire) == 0; }, done_);
  }

 private:
  static constexpr int kSpins = 1 << 14;  // about 20-50 µs of polling before sleeping

  // Makes a change to an atomic visible to a thread that may be about to sleep: taking the mutex
  // orders the change before that thread's last check of its condition.
  void wake(std::condition_variable& cv) {
    { std::lock_guard lock(mutex_); }
    cv.notify_all();
  }

  template <class Ready>
  void wait_until(Ready ready, std::condition_variable& cv) {
    for (int spin = 0; spin < kSpins; ++spin) {
      if (ready()) return;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    std::unique_lock lock(mutex_);
    cv.wait(lock, ready);
  }

  void work(std::size_t index) {
    std::size_t seen = 0;
    for (;;) {
      wait_until(
          [&] {
            return stopping_.load(std::memory_order_acquire) ||
                   generation_.load(std::memory_order_acquire) != seen;
          },
          start_);
      if (stopping_.load(std::memory_order_acquire)) return;
      seen = generation_.load(std::memory_order_acquire);
      if (index < chunks_) {  // fewer chunks than workers: the others only acknowledge
        (*body_)(index, count_ * index / chunks_, count_ * (index + 1) / chunks_);
      }
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) wake(done_);
    }
  }

  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable start_, done_;
  // Written by run() before the release increment of generation_ and read by workers after seeing
  // it; unchanged until every worker has acknowledged the run.
  const ChunkBody* body_ = nullptr;
  std::size_t count_ = 0, chunks_ = 0;
  std::atomic<std::size_t> pending_{0}, generation_{0};
  std::atomic<bool> stopping_{false};
};

std::size_t g_threads = 1;
std::unique_ptr<ThreadPool> g_pool;

}  // namespace

std::size_t hardware_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

void set_num_threads(std::size_t threads) {
  const std::size_t wanted = threads == 0 ? hardware_threads() : threads;
  if (wanted == g_threads) return;
  g_pool.reset();
  g_threads = wanted;
}

std::size_t num_threads() {
  return g_threads;
}

std::size_t parallel_chunks(std::size_t count, std::size_t min_chunk) {
  if (min_chunk == 0) min_chunk = 1;
  const std::size_t by_work = count / min_chunk;
  const std::size_t chunks = by_work < g_threads ? by_work : g_threads;
  return chunks == 0 ? 1 : chunks;
}

void parallel_for(std::size_t count, ChunkBody body, std::size_t min_chunk) {
  if (count == 0) return;
  const std::size_t chunks = parallel_chunks(count, min_chunk);
  if (chunks == 1) {
    body(0, 0, count);
    return;
  }
  if (!g_pool) g_pool = std::make_unique<ThreadPool>(g_threads - 1);
  g_pool->run(count, chunks, body);
}

}  // namespace cnn
