#include "cnn/core/parallel.hpp"

#include <gtest/gtest.h>

#include <sched.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

namespace cnn {
namespace {

TEST(ParallelFor, EveryIndexExactlyOnceForAnyThreadCount) {
  for (std::size_t threads : {1u, 2u, 3u, 5u}) {
    set_num_threads(threads);
    for (std::size_t count : {1u, 2u, 7u, 100u}) {
      std::vector<std::atomic<int>> hits(count);
      std::atomic<std::size_t> max_thread{0};
      parallel_for(count, [&](std::size_t thread, std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) hits[i]++;
        std::size_t seen = max_thread.load();
        while (thread > seen && !max_thread.compare_exchange_weak(seen, thread)) {
        }
      });
      for (std::size_t i = 0; i < count; ++i) ASSERT_EQ(hits[i], 1) << threads << " " << count;
      EXPECT_LT(max_thread.load(), parallel_chunks(count));
    }
  }
  set_num_threads(1);
}

TEST(ParallelFor, ChunksRespectMinimumWork) {
  set_num_threads(4);
  EXPECT_EQ(parallel_chunks(100, 1), 4u);
  EXPECT_EQ(parallel_chunks(100, 40), 2u);
  EXPECT_EQ(parallel_chunks(10, 40), 1u);
  set_num_threads(0);
  EXPECT_EQ(num_threads(), usable_cpus());
  set_num_threads(1);
}

// Chunks are claimed at run time (parallel.cpp), so a chunk may run on any thread, but each runs
// once, on its fixed range, under its fixed index. Many threads crowded onto one core make workers
// late for most runs and let stale ones look at runs already over: thousands of calls in a row,
// with chunk counts changing between calls, must still give every chunk exactly once.
TEST(ParallelFor, ClaimedChunksRunOnceOnTheirOwnRangeWhenThreadsOutnumberCores) {
  cpu_set_t before;
  ASSERT_EQ(sched_getaffinity(0, sizeof before, &before), 0);
  cpu_set_t one;
  CPU_ZERO(&one);
  int first = 0;
  while (!CPU_ISSET(first, &before)) ++first;
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);  // the pool's threads start after this
  set_num_threads(6);
  for (std::size_t call = 0; call < 3000; ++call) {
    const std::size_t count = 1 + call % 9;
    const std::size_t chunks = parallel_chunks(count);
    std::vector<std::atomic<int>> calls(chunks);
    std::vector<std::size_t> begins(chunks), ends(chunks);
    std::vector<std::thread::id> runners(chunks);
    parallel_for(count, [&](std::size_t chunk, std::size_t begin, std::size_t end) {
      calls[chunk]++;
      begins[chunk] = begin;
      ends[chunk] = end;
      runners[chunk] = std::this_thread::get_id();
    });
    for (std::size_t chunk = 0; chunk < chunks; ++chunk) {
      ASSERT_EQ(calls[chunk], 1) << "call " << call << " chunk " << chunk;
      ASSERT_EQ(begins[chunk], count * chunk / chunks);
      ASSERT_EQ(ends[chunk], count * (chunk + 1) / chunks);
    }
  }
  set_num_threads(1);
  ASSERT_EQ(sched_setaffinity(0, sizeof before, &before), 0);
}

TEST(ParallelFor, MoreThreadsThanTheMostIsRefused) {
  EXPECT_THROW(set_num_threads(kMaxThreads + 1), std::invalid_argument);
  EXPECT_EQ(num_threads(), 1u);
}

}  // namespace
}  // namespace cnn
