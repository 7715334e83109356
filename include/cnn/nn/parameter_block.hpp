// ParameterBlock: the values of a set of parameters in one allocation and their gradients in
// another, as llm.c keeps them, so that an optimizer step, a finiteness check or (for
// data-parallel training) an all-reduce is one call over one buffer.
//
// Gathering makes every parameter's value and gradient tensor a view into the block (see
// Tensor::move_to). Each parameter starts on a 64-byte boundary, as an owned tensor would, so the
// kernels see the same alignment as before; the gaps between parameters are zeros that every
// elementwise update keeps at zero (a zero gradient, a zero weight and a zero state give a zero
// step). The tensors are used through the block from then on: it must outlive their use.
#pragma once

#include <cstddef>
#include <vector>

#include "cnn/nn/layer.hpp"

namespace cnn {

class ParameterBlock {
 public:
  ParameterBlock() = default;
  // Copies every parameter's value and gradient into a fresh block and makes the tensors views of
  // it. Parameters that are already views (of an older block) move over to the new one.
  explicit ParameterBlock(std::vector<Parameter> parameters);
  // Moving keeps every view valid: the block's storage stays where it is.
  ParameterBlock(ParameterBlock&&) noexcept = default;
  ParameterBlock& operator=(ParameterBlock&&) = default;
  ParameterBlock(const ParameterBlock&) = delete;
  ParameterBlock& operator=(const ParameterBlock&) = delete;

  // count() floats each: the gaps, and a zero tail that makes count() a multiple of 256 so that
  // every thread's part of a kernel call starts on a 64-byte line (see parameter_block.cpp).
  float* values() { return values_.data(); }
  const float* values() const { return values_.data(); }
  float* gradients() { return gradients_.data(); }
  const float* gradients() const { return gradients_.data(); }
  std::size_t count() const { return values_.size(); }

  // The parameters in the order given, and where each one starts in the block.
  const std::vector<Parameter>& parameters() const { return parameters_; }
  std::size_t offset(std::size_t i) const { return offsets_.at(i); }

 private:
  std::vector<Parameter> parameters_;
  std::vector<std::size_t> offsets_;
  Tensor values_, gradients_;
};

}  // namespace cnn
