// How many images of an inference batch go through the network together (evaluation.cpp).
#pragma once

#include <cstddef>

#include "cnn/data/dataset.hpp"
#include "cnn/nn/sequential.hpp"

namespace cnn {

// Images per forward pass of an inference batch of batch_size images of data: fewer than
// batch_size where every layer's output for the whole batch would not stay in the cache (one
// thread), at least a few dozen per thread otherwise; from 1 to batch_size. A block's logits are
// the bits of the whole batch's, image by image.
std::size_t forward_block(const Sequential& model, const Dataset& data, std::size_t batch_size);

}  // namespace cnn
