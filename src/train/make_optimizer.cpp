#include "cnn/train/make_optimizer.hpp"

#include <stdexcept>

#include "cnn/train/adam.hpp"
#include "cnn/train/sgd.hpp"

namespace cnn {

std::unique_ptr<Optimizer> make_optimizer(ParameterBlock& parameters,
                                          const OptimizerOptions& options,
                                          std::size_t total_steps) {
  switch (options.kind) {
    case OptimizerKind::sgd:
    case OptimizerKind::nesterov:
      return std::make_unique<SGD>(parameters, options, total_steps);
    case OptimizerKind::adam:
    case OptimizerKind::adamw:
      return std::make_unique<Adam>(parameters, options, total_steps);
  }
  throw std::invalid_argument("unknown optimizer kind");
}

}  // namespace cnn
