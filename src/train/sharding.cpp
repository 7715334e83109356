#include "cnn/train/sharding.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

#include "cnn/core/rng.hpp"

namespace cnn {

std::vector<std::uint32_t> epoch_order(std::size_t examples, std::uint64_t seed,
                                       std::size_t epoch) {
  std::vector<std::uint32_t> order(examples);
  fill_epoch_order(order, seed, epoch);
  return order;
}

void fill_epoch_order(std::span<std::uint32_t> order, std::uint64_t seed, std::size_t epoch) {
  std::iota(order.begin(), order.end(), 0u);
  // Rng seeds through splitmix64, so neighbouring seeds give unrelated streams; the odd constant
  // (2^64 / golden ratio) spreads the epochs of one seed away from the neighbouring seeds' epochs.
  const std::uint64_t epoch_seed =
      seed + 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(epoch > 0 ? epoch - 1 : 0);
  Rng rng(epoch_seed);
  rng.shuffle(order);
}

Share share_of(std::size_t items, std::size_t rank, std::size_t processes) {
  if (processes == 0 || rank >= processes) {
    throw std::invalid_argument("share_of: rank " + std::to_string(rank) + " of " +
                                std::to_string(processes) + " processes");
  }
  const std::size_t base = items / processes, extra = items % processes;
  return {rank * base + std::min(rank, extra), base + (rank < extra ? 1 : 0)};
}

Share evaluation_share(std::size_t examples, std::size_t batch, std::size_t rank,
                       std::size_t processes) {
  if (batch == 0) throw std::invalid_argument("evaluation_share: batch size must be positive");
  const std::size_t batches = (examples + batch - 1) / batch;
  const Share batches_share = share_of(batches, rank, processes);
  const std::size_t begin = std::min(examples, batches_share.begin * batch);
  const std::size_t end = std::min(examples, (batches_share.begin + batches_share.count) * batch);
  return {begin, end - begin};
}

Share evaluation_share(std::size_t examples, std::size_t batch, const ProcessGroup* processes) {
  return processes != nullptr
             ? evaluation_share(examples, batch, processes->rank(), processes->size())
             : evaluation_share(examples, batch, 0, 1);
}

}  // namespace cnn
