#include "cnn/parallel.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace cnn {

namespace {

// A fixed set of worker threads that run chunks 1..k-1 of a parallel_for while the calling
// thread runs chunk 0. One parallel_for at a time (the kernels never nest them).
class ThreadPool {
 public:
  explicit ThreadPool(std::size_t workers) {
    threads_.reserve(workers);
    for (std::size_t i = 0; i < workers; ++i) {
      threads_.emplace_back([this, i] { work(i + 1); });
    }
  }

  ~ThreadPool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    start_.notify_all();
    for (auto& t : threads_) t.join();
  }

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void run(std::size_t count, std::size_t chunks, const ChunkBody& body) {
    {
      std::lock_guard lock(mutex_);
      body_ = &body;
      count_ = count;
      chunks_ = chunks;
      pending_ = chunks - 1;
      ++generation_;
    }
    start_.notify_all();
    body(0, 0, count / chunks);
    std::unique_lock lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    body_ = nullptr;
  }

 private:
  void work(std::size_t index) {
    std::size_t seen = 0;
    for (;;) {
      std::unique_lock lock(mutex_);
      start_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      if (index >= chunks_) continue;  // fewer chunks than workers this time
      const auto* body = body_;
      const std::size_t begin = count_ * index / chunks_;
      const std::size_t end = count_ * (index + 1) / chunks_;
      lock.unlock();
      (*body)(index, begin, end);
      lock.lock();
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable start_, done_;
  const ChunkBody* body_ = nullptr;
  std::size_t count_ = 0, chunks_ = 0, pending_ = 0, generation_ = 0;
  bool stopping_ = false;
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
