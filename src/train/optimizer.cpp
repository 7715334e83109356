#include "cnn/train/optimizer.hpp"

#include <stdexcept>

#include "cnn/core/instruction_set.hpp"

namespace cnn {

StateBlock::StateBlock(const ParameterBlock& parameters, const std::string& suffix)
    : block_(Shape{parameters.count()}) {
  const std::vector<Parameter>& all = parameters.parameters();
  names_.reserve(all.size());
  views_.reserve(all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    names_.push_back(all[i].name + "." + suffix);
    views_.push_back(Tensor::view(block_.data() + parameters.offset(i), all[i].value->shape()));
  }
}

Optimizer::Optimizer(ParameterBlock& parameters, const OptimizerOptions& options,
                     std::size_t total_steps)
    : values_(parameters.values()),
      gradients_(parameters.gradients()),
      count_(parameters.count()),
      schedule_(check_optimizer_options(options, total_steps)) {
  require_cpu_support();  // before a step can run a kernel (instruction_set.hpp)
}

OptimizerState Optimizer::checkpoint_state() {
  OptimizerState saved;
  saved.steps = iterations_;
  for (const StateTensor& tensor : state()) saved.tensors.emplace(tensor.name, *tensor.value);
  return saved;
}

void Optimizer::set_state(const OptimizerState& saved) {
  const std::vector<StateTensor> own = state();
  // Check everything first, so that a bad checkpoint leaves the optimizer as it was.
  for (const StateTensor& tensor : own) {
    const auto it = saved.tensors.find(tensor.name);
    if (it == saved.tensors.end()) {
      throw std::invalid_argument(describe() + ": optimizer state has no tensor '" + tensor.name +
                                  "'");
    }
    if (!(it->second.shape() == tensor.value->shape())) {
      throw std::invalid_argument(describe() + ": optimizer tensor '" + tensor.name +
                                  "' has shape " + it->second.shape().to_string() + ", expected " +
                                  tensor.value->shape().to_string());
    }
  }
  for (const auto& [name, value] : saved.tensors) {
    bool known = false;
    for (const StateTensor& tensor : own) known = known || tensor.name == name;
    if (!known)
      throw std::invalid_argument(describe() + ": unexpected optimizer tensor '" + name + "'");
  }
  // Into the views: the values land in the state block.
  for (const StateTensor& tensor : own) *tensor.value = saved.tensors.at(tensor.name);
  iterations_ = saved.steps;
}

}  // namespace cnn
