// Threads used by the kernels.
//
// Work is split into one contiguous chunk per thread, the same split for the same thread count,
// and partial sums (such as weight gradients summed over a batch) are added in chunk order. Which
// thread runs a chunk is decided at run time (an idle thread takes the next chunk not yet
// started, so a thread the system has not scheduled holds nobody up), but a chunk's range and
// index are not. So a given thread count always gives bitwise the same results.
#pragma once

#include <cstddef>
#include <memory>
#include <type_traits>

namespace cnn {

// The most threads the kernels use.
inline constexpr std::size_t kMaxThreads = 1024;

// Number of threads the kernels use; 0 picks usable_cpus() (at most kMaxThreads).
// Default: 1. Throws std::invalid_argument for more than kMaxThreads.
void set_num_threads(std::size_t threads);
std::size_t num_threads();

// The CPUs this process may use, read anew on each call (src/core/usable_cpus.hpp):
// - the count of the calling thread's affinity mask (sched_getaffinity), which `taskset`, Slurm
//   and MPI launchers binding ranks to cores set;
// - lowered to a cgroup CPU quota when one is set (containers, systemd's CPUQuota=): cgroup v2
//   cpu.max, or v1 cpu.cfs_quota_us / cpu.cfs_period_us, the smallest from the process's group
//   (/proc/self/cgroup) up to the root, rounded up to whole CPUs (1.5 CPUs: 2 threads);
// - at least 1; the machine's count (hardware_threads) when the mask cannot be read.
// More threads than this would only take turns on the same CPUs, and a worker stopped in the
// middle of its chunk holds up the whole parallel_for until the system runs it again.
std::size_t usable_cpus();
// The machine's hardware threads (std::thread::hardware_concurrency, at least 1), whether or not
// this process may use them.
std::size_t hardware_threads();

// A reference to a callable body(thread, begin, end), without the heap allocation a std::function
// may make: parallel_for runs on every layer of every training step.
class ChunkBody {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, ChunkBody>>>
  ChunkBody(F&& body)  // NOLINT: converts from any lambda, which outlives the parallel_for call
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(body)))),
        call_([](void* object, std::size_t thread, std::size_t begin, std::size_t end) {
          (*static_cast<std::remove_reference_t<F>*>(object))(thread, begin, end);
        }) {}
  void operator()(std::size_t thread, std::size_t begin, std::size_t end) const {
    call_(object_, thread, begin, end);
  }

 private:
  void* object_;
  void (*call_)(void*, std::size_t, std::size_t, std::size_t);
};

// Calls body(thread_index, begin, end) for the chunks of [0, count), one chunk per thread, and
// returns when all are done. Runs inline when one thread is used or count is small. It may be
// called from several threads at once: one call at a time gets the pool's threads, a call made
// while they are busy runs its chunks one after another on the calling thread (same chunks, same
// results). set_num_threads must not be called while another thread computes.
// min_chunk: the least amount of work worth handing to a thread.
void parallel_for(std::size_t count, ChunkBody body, std::size_t min_chunk = 1);

// How many chunks parallel_for(count, .., min_chunk) will use; workspaces are sized by it.
std::size_t parallel_chunks(std::size_t count, std::size_t min_chunk = 1);

}  // namespace cnn
