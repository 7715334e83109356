#include "cnn/core/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace cnn {

namespace {

// A fixed set of worker threads that, with the calling thread, run the chunks of a parallel_for.
// One parallel_for at a time (the kernels never nest them).
//
// Chunks are claimed, not assigned: the caller runs chunk 0 and worker i chunk i, as long as each
// gets to it first, and whoever is idle takes a chunk not yet started. The split of [0, count)
// into chunks and the chunk index each body call gets are fixed, so results do not depend on
// which thread ran which chunk. Claiming matters when the machine is shared (another program, or
// other MPI ranks, on the same cores): with one chunk assigned to each thread, the caller waited
// for a worker that the system had not scheduled, for a time slice (milliseconds) on every call;
// now it runs that chunk itself and returns. On a quiet machine every thread gets its own chunk,
// the same one call after call, so the data it touched stays in its core's cache.
//
// A training step makes a few dozen parallel_for calls of tens of microseconds each, so waking a
// sleeping thread (several microseconds each way) would eat much of the gain. Workers and the
// caller therefore spin for a short while on atomic counters before they fall back to sleeping on
// a condition variable; an idle pool sleeps and costs nothing.
class ThreadPool {
 public:
  explicit ThreadPool(std::size_t workers)
      : owner_(std::make_unique<std::atomic<std::uint64_t>[]>(workers + 1)) {
    threads_.reserve(workers);
    for (std::size_t i = 0; i < workers; ++i) {
      threads_.emplace_back([this, i] { work(i + 1); });
    }
  }

  ~ThreadPool() {
    stopping_.store(true, std::memory_order_seq_cst);
    wake(start_);
    for (auto& t : threads_) t.join();
  }

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void run(std::size_t count, std::size_t chunks, const ChunkBody& body) {
    // No worker is inside the previous run (run() returned only when none was), and none claims
    // a chunk of this one before the run word below publishes it, so the fields can be rewritten.
    body_ = &body;
    count_ = count;
    chunks_ = chunks;
    done_.store(0, std::memory_order_relaxed);
    const std::uint64_t generation = ++generation_;
    owner_[0].store(generation, std::memory_order_relaxed);  // chunk 0 is the caller's
    run_.store(generation << kGenerationShift | chunks, std::memory_order_seq_cst);
    wake(start_);
    run_chunk(0);
    // Then the chunks no worker has started, the last first (their workers are the least likely
    // to be about to start them).
    for (std::size_t chunk = chunks; chunk-- > 1;) {
      if (claim(chunk, generation)) run_chunk(chunk);
    }
    // Every chunk finished, and no worker still inside this run (one may have claimed nothing).
    wait_until(
        [this] {
          return done_.load(std::memory_order_acquire) == chunks_ &&
                 inside_.load(std::memory_order_seq_cst) == 0;
        },
        finished_);
  }

 private:
  static constexpr int kSpins = 1 << 14;  // about 20-50 µs of polling before sleeping
  // The run word: the run's generation (48 bits: never wraps) above its chunk count (16 bits;
  // parallel_for makes at most as many chunks as threads, at most kMaxThreads). A worker needs
  // nothing else to decide whether there is work, so it never reads the fields that run() may be
  // rewriting for the next run.
  static constexpr unsigned kGenerationShift = 16;
  static constexpr std::uint64_t kCountMask = 0xffff;

  // Takes chunk for run `generation` unless someone has: owner_[chunk] holds the generation of
  // the last run whose chunk was taken, and only grows. A worker that looks at a run already over
  // finds every chunk taken by it or by a later run.
  bool claim(std::size_t chunk, std::uint64_t generation) {
    std::uint64_t owner = owner_[chunk].load(std::memory_order_seq_cst);
    while (owner < generation) {
      if (owner_[chunk].compare_exchange_weak(owner, generation, std::memory_order_seq_cst)) {
        return true;
      }
    }
    return false;
  }

  void run_chunk(std::size_t chunk) {
    (*body_)(chunk, count_ * chunk / chunks_, count_ * (chunk + 1) / chunks_);
    if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == chunks_) wake(finished_);
  }

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
    std::uint64_t seen = 0;  // the generation this worker last looked at
    for (;;) {
      wait_until(
          [&] {
            return stopping_.load(std::memory_order_seq_cst) ||
                   (run_.load(std::memory_order_seq_cst) >> kGenerationShift) != seen;
          },
          start_);
      if (stopping_.load(std::memory_order_seq_cst)) return;
      // Announce being inside before looking at the run, so that run() cannot return (and start
      // the next run, rewriting the fields) while this worker may still claim a chunk.
      inside_.fetch_add(1, std::memory_order_seq_cst);
      const std::uint64_t word = run_.load(std::memory_order_seq_cst);
      seen = word >> kGenerationShift;
      const std::size_t chunks = word & kCountMask;
      // Its own chunk first, then any other not yet started.
      if (index < chunks && claim(index, seen)) run_chunk(index);
      for (std::size_t chunk = 1; chunk < chunks; ++chunk) {
        if (chunk != index && claim(chunk, seen)) run_chunk(chunk);
      }
      if (inside_.fetch_sub(1, std::memory_order_seq_cst) == 1) wake(finished_);
    }
  }

  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable start_, finished_;
  // Written by run() while no worker is inside a run, then published by the run word.
  const ChunkBody* body_ = nullptr;
  std::size_t count_ = 0, chunks_ = 0;
  std::uint64_t generation_ = 0;  // of the current run; only run() writes it
  std::atomic<std::uint64_t> run_{0};
  std::unique_ptr<std::atomic<std::uint64_t>[]> owner_;  // per chunk, see claim()
  std::atomic<std::size_t> done_{0}, inside_{0};
  std::atomic<bool> stopping_{false};
};

std::size_t g_threads = 1;
std::unique_ptr<ThreadPool> g_pool;
// Held by the parallel_for that has the pool (one at a time, see parallel_for) and by
// set_num_threads while it replaces the pool.
std::mutex g_pool_mutex;

}  // namespace

std::size_t hardware_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

void set_num_threads(std::size_t threads) {
  if (threads > kMaxThreads) {
    throw std::invalid_argument("set_num_threads: at most " + std::to_string(kMaxThreads) +
                                " threads, got " + std::to_string(threads));
  }
  const std::size_t wanted = threads == 0 ? std::min(usable_cpus(), kMaxThreads) : threads;
  if (wanted == g_threads) return;
  std::lock_guard lock(g_pool_mutex);
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
  // Models used from several threads at once (the threading contract of model.hpp): the pool
  // serves one call at a time, and a call that finds it busy runs its chunks on its own thread,
  // one after another. The chunks and their indices are the same either way, so are the results.
  std::unique_lock lock(g_pool_mutex, std::try_to_lock);
  if (!lock.owns_lock()) {
    for (std::size_t chunk = 0; chunk < chunks; ++chunk) {
      body(chunk, count * chunk / chunks, count * (chunk + 1) / chunks);
    }
    return;
  }
  if (!g_pool) g_pool = std::make_unique<ThreadPool>(g_threads - 1);
  g_pool->run(count, chunks, body);
}

}  // namespace cnn
