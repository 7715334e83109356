#include "cnn/nn/parameter_block.hpp"

#include <stdexcept>

namespace cnn {

namespace {

// Floats per 64-byte line: every parameter starts on one, like an owned tensor.
constexpr std::size_t kAlignFloats = Tensor::kAlignment / sizeof(float);

std::size_t aligned(std::size_t count) {
  return (count + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
}

}  // namespace

ParameterBlock::ParameterBlock(std::vector<Parameter> parameters)
    : parameters_(std::move(parameters)) {
  std::size_t count = 0;
  offsets_.reserve(parameters_.size());
  for (const Parameter& p : parameters_) {
    if (!(p.grad->shape() == p.value->shape())) {
      throw ShapeError("parameter " + p.name + ": its gradient has shape " +
                       p.grad->shape().to_string() + ", its value " + p.value->shape().to_string());
    }
    offsets_.push_back(count);
    count += aligned(p.value->size());
  }
  // The length a multiple of 16 lines: the kernels split a call between T threads at count·i/T,
  // which then starts on a 64-byte line for every power of two T up to 16. An AVX-512 loop over a
  // part that starts mid-line splits a line on every load and store (about 10% slower measured,
  // bench/optimizer_bench, Nesterov over the best preset on two threads).
  count = (count + 16 * kAlignFloats - 1) / (16 * kAlignFloats) * (16 * kAlignFloats);
  // Zero-filled, so the gaps between parameters hold zeros.
  values_ = Tensor(Shape{count});
  gradients_ = Tensor(Shape{count});
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    parameters_[i].value->move_to(values_.data() + offsets_[i]);
    parameters_[i].grad->move_to(gradients_.data() + offsets_[i]);
  }
}

}  // namespace cnn
