// Threads used by the kernels.
//
// Work is split into one contiguous chunk per thread, the same split for the same thread count,
// and partial sums (such as weight gradients summed over a batch) are added in thread order. So a
// given thread count always gives bitwise the same results.
#pragma once

#include <cstddef>
#include <functional>

namespace cnn {

// Number of threads the kernels use; 0 picks the hardware's thread count. Default: 1.
void set_num_threads(std::size_t threads);
std::size_t num_threads();
std::size_t hardware_threads();

// Calls body(thread_index, begin, end) for the chunks of [0, count), one chunk per thread, and
// returns when all are done. Runs inline when one thread is used or count is small.
// min_chunk: the least amount of work worth handing to a thread.
void parallel_for(
    std::size_t count,
    const std::function<void(std::size_t thread, std::size_t begin, std::size_t end)>& body,
    std::size_t min_chunk = 1);

// How many chunks parallel_for(count, .., min_chunk) will use; workspaces are sized by it.
std::size_t parallel_chunks(std::size_t count, std::size_t min_chunk = 1);

}  // namespace cnn
