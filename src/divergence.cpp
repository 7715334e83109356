#include "cnn/divergence.hpp"

#include <cmath>
#include <cstdio>
#include <optional>

#include "cnn/kernels.hpp"

namespace cnn {

namespace {

bool finite(const Tensor& t) {
  return kernels::all_finite(t.data(), t.size());
}

std::string number_text(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

// What is not finite in the first layer that has anything non-finite, in forward order: its
// weights, its output on x, or one of its gradients. nullopt when everything is finite.
std::optional<std::string> first_non_finite_layer(Sequential& model, const Tensor& x) {
  Tensor input = x, output;
  for (std::size_t i = 0; i < model.size(); ++i) {
    Layer& layer = model.layer(i);
    const std::string where = "layer " + std::to_string(i) + " (" + layer.describe() + "): ";
    for (const Parameter& p : layer.parameters()) {
      if (!finite(*p.value)) return where + "its " + p.name;
    }
    output.resize(layer.output_shape(input.shape()));
    layer.forward(input, output, /*training=*/false);
    if (!finite(output)) return where + "its output";
    for (const Parameter& p : layer.parameters()) {
      if (!finite(*p.grad)) return where + "the gradient of its " + p.name;
    }
    std::swap(input, output);
  }
  return std::nullopt;
}

}  // namespace

void check_step_is_finite(double loss, const std::vector<Parameter>& parameters, Sequential& model,
                          const Tensor& x, std::size_t iteration) {
  bool ok = std::isfinite(loss);
  for (std::size_t i = 0; ok && i < parameters.size(); ++i) ok = finite(*parameters[i].grad);
  if (ok) return;
  std::string message = "training diverged at iteration " + std::to_string(iteration) +
                        ": the loss is " + number_text(loss);
  const std::optional<std::string> layer = first_non_finite_layer(model, x);
  message += layer ? "; the first layer with non-finite values is " + *layer
                   : "; every layer's weights, output and gradients are finite";
  throw TrainingDiverged(message, iteration);
}

}  // namespace cnn
