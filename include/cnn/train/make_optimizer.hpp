// The factory: the optimizer OptimizerOptions::kind names, over a model's parameter block.
#pragma once

#include <cstddef>
#include <memory>

#include "cnn/nn/parameter_block.hpp"
#include "cnn/train/optimizer.hpp"
#include "cnn/train/optimizer_options.hpp"

namespace cnn {

// total_steps fills options.schedule.total when it is 0 (cosine and one-cycle need it). Throws
// std::invalid_argument for settings out of range (see check_optimizer_options).
std::unique_ptr<Optimizer> make_optimizer(ParameterBlock& parameters,
                                          const OptimizerOptions& options, std::size_t total_steps);

}  // namespace cnn
