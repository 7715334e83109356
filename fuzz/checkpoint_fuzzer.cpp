// Fuzz target for the checkpoint loader (safetensors with optimizer and data-order state). Its
// contract is to throw CheckpointError for anything it cannot use; any other exception, a crash
// or a read out of bounds is a bug the fuzzer reports. What it accepts must be consistent: every
// optimizer tensor shaped like a parameter, the image order a permutation.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cnn/io/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const cnn::Checkpoint c =
        cnn::parse_checkpoint({reinterpret_cast<const char*>(data), size}, "fuzz-input");
    const std::vector<std::uint32_t>& order = c.state.sampler.order;
    std::vector<bool> seen(order.size(), false);
    for (const std::uint32_t i : order) {
      if (i >= order.size() || seen[i]) __builtin_trap();
      seen[i] = true;
    }
    if (c.state.sampler.position > order.size()) __builtin_trap();
  } catch (const cnn::CheckpointError&) {
  }
  return 0;
}
