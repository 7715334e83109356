// Adam and AdamW, see optimizer.hpp for where they sit.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "cnn/train/optimizer.hpp"

namespace cnn {

// Adam and AdamW (see optimizer_options.hpp):
//   m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  m̂ = m/(1−β1^t);  v̂ = v/(1−β2^t)
//   w −= lr_t · (m̂ / (sqrt(v̂) + ε) + λ·w)      (AdamW; Adam adds λ·w to g instead)
class Adam : public Optimizer {
 public:
  // Reads options.beta1, beta2, epsilon, weight_decay, the learning rate and schedule, and
  // whether kind is adamw (decoupled decay); throws std::invalid_argument when kind is not adam
  // or adamw.
  Adam(ParameterBlock& parameters, const OptimizerOptions& options, std::size_t total_steps = 0);

  void step() override;
  // "<parameter>.exp_avg" and "<parameter>.exp_avg_sq" for every parameter, as in PyTorch.
  std::vector<StateTensor> state() override;
  std::string describe() const override;

 private:
  StateBlock m_, v_;
  double beta1_, beta2_, epsilon_, weight_decay_;
  bool decoupled_;
};

}  // namespace cnn
