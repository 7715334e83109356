// How the images of a training run are ordered and shared among the processes of a data-parallel
// run (docs/scale-out.md), as PyTorch's DistributedSampler does it: every process computes the
// same order from the seed and the epoch alone, cuts it into the same global batches, and takes
// its own contiguous share of each batch. Nothing about the order is communicated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "cnn/core/process_group.hpp"

namespace cnn {

// The order of the images [0, examples) in a 1-based epoch: a Fisher-Yates shuffle by a generator
// seeded from (seed, epoch) only. Epoch 1 uses Rng(seed) itself, as every run before data-parallel
// training did, so that runs shorter than one epoch (the design's recipe) keep their results.
std::vector<std::uint32_t> epoch_order(std::size_t examples, std::uint64_t seed, std::size_t epoch);
// The same into order (order.size() images), without allocating.
void fill_epoch_order(std::span<std::uint32_t> order, std::uint64_t seed, std::size_t epoch);

// One process's part of something cut among `processes`: `count` items from `begin`.
struct Share {
  std::size_t begin = 0;
  std::size_t count = 0;
};

// Rank `rank`'s share of `items` items among `processes`: contiguous, in rank order, the first
// items % processes ranks taking one more (a batch of 33 on 2 processes: 17 and 16; 3 on 4
// processes: 1, 1, 1, 0). The shares are disjoint and cover [0, items). Throws
// std::invalid_argument when processes is 0 or rank ≥ processes.
Share share_of(std::size_t items, std::size_t rank, std::size_t processes);

// Rank `rank`'s share of a dataset of `examples` images evaluated in batches of `batch`: whole
// batches only, so that every image is computed in the same batch at the same place as by one
// process (evaluate() on shares then gives exactly one process's counts).
Share evaluation_share(std::size_t examples, std::size_t batch, std::size_t rank,
                       std::size_t processes);
// This process's evaluation share among `processes`; all of the data when that is null.
Share evaluation_share(std::size_t examples, std::size_t batch, const ProcessGroup* processes);

}  // namespace cnn
