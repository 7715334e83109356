#include "cnn/core/parallel.hpp"

#include <gtest/gtest.h>

#include <atomic>
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
  EXPECT_EQ(num_threads(), hardware_threads());
  set_num_threads(1);
}

}  // namespace
}  // namespace cnn
