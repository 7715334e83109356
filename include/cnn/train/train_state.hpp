// Where a training run stands between two iterations, apart from the weights themselves: what a
// checkpoint must hold so that a resumed run continues bit for bit as if it had never stopped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cnn/core/rng.hpp"
#include "cnn/train/optimizer_state.hpp"

namespace cnn {

// The order of the images: the current epoch's permutation, how far into it training is, and
// the generator that shuffles the next epoch.
struct SamplerState {
  std::vector<std::uint32_t> order;
  std::size_t position = 0;  // images of `order` already used
  std::size_t epoch = 1;     // 1-based
  Rng::State rng;
};

struct TrainState {
  std::size_t iteration = 0;  // iterations done
  std::size_t images = 0;     // images seen so far, counting repeats
  // The loss report period in progress: sum and count of the batch losses since the last report.
  double loss_sum = 0.0;
  std::size_t loss_count = 0;
  SamplerState sampler;
  OptimizerState optimizer;
  // Generators of augmentation and dropout, as checkpoints written before image keys (see
  // image_key in cnn/core/rng.hpp) held them: read and checked when loading such a file, ignored
  // by training, empty in every checkpoint written now.
  std::vector<Rng::State> random_streams;
};

}  // namespace cnn
