#include "cnn/train/divergence.hpp"

#include <cmath>
#include <cstdio>
#include <optional>
#include <utility>

#include "kernels/kernels.hpp"

namespace cnn {

namespace {

bool finite(const Tensor& t) {
  return kernels::all_finite(t.data(), t.size());
}

std::string loss_text(double value) {
  if (std::isnan(value)) return "the loss is NaN";
  if (std::isinf(value)) return "the loss is infinite";
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "the loss is %g", value);
  return buffer;
}

std::string layer_name(Sequential& model, std::size_t i) {
  return "layer " + std::to_string(i) + " (" + model.layer(i).describe() + ")";
}

// The first non-finite values, in the order the step computes them: each layer's weights and its
// output on x (forward), then the loss, then each layer's gradients. nullopt when all are finite.
std::optional<std::string> first_non_finite(Sequential& model, const Tensor& x, double loss) {
  Tensor input = x, output;
  for (std::size_t i = 0; i < model.size(); ++i) {
    Layer& layer = model.layer(i);
    for (const Parameter& p : layer.parameters()) {
      if (!finite(*p.value)) return layer_name(model, i) + ": its " + p.name;
    }
    output.resize(layer.output_shape(input.shape()));
    layer.forward(input, output, /*training=*/false);
    if (!finite(output)) return layer_name(model, i) + ": its output";
    std::swap(input, output);
  }
  if (!std::isfinite(loss)) {
    return std::string("none: every weight and output is finite, the logits are too large for ") +
           "the loss";
  }
  for (std::size_t i = 0; i < model.size(); ++i) {
    for (const Parameter& p : model.layer(i).parameters()) {
      if (!finite(*p.grad)) return layer_name(model, i) + ": the gradient of its " + p.name;
    }
  }
  return std::nullopt;
}

}  // namespace

void check_step_is_finite(double loss, Sequential& model, const Tensor& x, std::size_t iteration) {
  // One call over every gradient (the gaps of the block are zeros); the name of the culprit is
  // looked for only once this fails.
  const ParameterBlock& block = model.parameter_block();
  if (std::isfinite(loss) && kernels::all_finite(block.gradients(), block.count())) return;
  std::string message =
      "training diverged at iteration " + std::to_string(iteration) + ": " + loss_text(loss);
  const std::optional<std::string> where = first_non_finite(model, x, loss);
  message += where ? "; the first layer with non-finite values is " + *where
                   : "; every layer's weights, output and gradients are finite";
  throw TrainingDiverged(message, iteration);
}

}  // namespace cnn
