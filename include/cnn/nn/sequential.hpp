// Sequential: layers applied in order, with the activations and their gradients held in
// tensors that are allocated once per batch shape and then reused.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "cnn/nn/layer.hpp"
#include "cnn/nn/parameter_block.hpp"

namespace cnn {

class Sequential {
 public:
  Sequential();
  // Moving keeps the parameter views valid: the block's storage stays where it is. Defined out
  // of line: inlined into io/model_file.cpp they set off a false -Wrestrict in GCC 12's
  // std::string (GCC bug 105329).
  Sequential(Sequential&&) noexcept;
  Sequential& operator=(Sequential&&) noexcept;
  ~Sequential();

  // Appends a layer and gathers its parameters into the model's block (see parameter_block()).
  Layer& add(std::unique_ptr<Layer> layer);
  template <class L, class... Args>
  L& emplace(Args&&... args) {
    auto layer = std::make_unique<L>(std::forward<Args>(args)...);
    L& ref = *layer;
    add(std::move(layer));
    return ref;
  }

  std::size_t size() const { return layers_.size(); }
  Layer& layer(std::size_t i) { return *layers_.at(i); }
  const Layer& layer(std::size_t i) const { return *layers_.at(i); }

  // Shape after every layer for an input of this shape; throws ShapeError naming the first layer
  // whose input does not fit ("layer 4 (Linear(363, 84)): ...").
  Shape output_shape(const Shape& input) const;

  // Runs the batch through every layer; the result stays valid until the next forward.
  // In training, image_keys holds one key per image of x (image_key(seed, epoch, dataset index)),
  // else std::invalid_argument naming both counts; each layer that draws random numbers gets
  // mix_key(image_keys[n], layer_salt(its index)) for image n (Layer::set_image_keys), so an
  // image's dropout masks follow from its key alone. Training without keys (tests, gradient
  // checks) numbers those forwards instead: the k-th since initialize() (from 0) uses the keys
  // image_key(initialize's seed, k, n), n the position in the batch, so two such calls draw
  // different masks and the same seed draws the same sequence. Inference ignores the keys.
  const Tensor& forward(const Tensor& x, bool training = false,
                        std::span<const std::uint64_t> image_keys = {});
  // Layer i's output of the last forward (the last layer's: the logits); valid until the next one.
  // std::out_of_range for i >= size() or before any forward. A training forward fuses a ReLU into
  // the layer after it when that layer can (Layer::fuses_preceding_relu: max pooling), so that
  // relu(x) is never written and read back: such a ReLU's output is then left unwritten. Inference
  // forwards write every layer's output.
  const Tensor& activation(std::size_t i) const { return activations_.at(i); }
  // Back-propagates dL/dlogits through every layer after forward(x, true), filling every
  // parameter gradient. The input gradient is not computed (no layer needs it).
  void backward(const Tensor& dlogits);
  // Same, also computing dL/dx into input_grad.
  void backward(const Tensor& dlogits, Tensor& input_grad);

  // Every parameter with its gradient, named "<layer index>.<name>" as in PyTorch's state_dict;
  // the tensors are views into parameter_block().
  std::vector<Parameter> parameters();
  // Values, not counting the gaps of the block.
  std::size_t parameter_count();
  // Every parameter value of the model in one allocation and every gradient in another, in layer
  // order, for one-call optimizer steps and all-reduces. Adding a layer lays the block out anew.
  ParameterBlock& parameter_block() { return block_; }
  const ParameterBlock& parameter_block() const { return block_; }
  // Every buffer (state saved with the model but not trained, such as batch normalisation's
  // running statistics), named "<layer index>.<name>".
  std::vector<Buffer> buffers();
  // Hands every layer the processes of a data-parallel run (null: this process alone), see
  // Layer::set_process_group.
  void set_process_group(ProcessGroup* group);
  // Draws initial weights for every layer from one generator seeded with seed (also the seed of
  // the keys of training forwards without keys, see forward), with the gain of
  // the next layer that is not looked through (Layer::init_role): 2 for a ReLU, 2/(1+a²) for a
  // LeakyReLU of slope a, and 1 for the others (see Layer::initialize). Layers that do not change
  // which activation follows (pooling, flatten, batch normalisation, dropout) are looked through.
  void initialize(std::uint64_t seed);
  // One line per layer with its output shape and parameter count.
  std::string summary(const Shape& input);

 private:
  void backward_impl(const Tensor& dlogits, Tensor* input_grad);
  // The image keys of a training forward of x: image_keys, checked, or the numbered ones.
  std::span<const std::uint64_t> training_keys(const Tensor& x,
                                               std::span<const std::uint64_t> image_keys);

  // Before layers_, so that it outlives the views the layers hold (they never touch the storage
  // on destruction, but nothing should point into freed memory).
  ParameterBlock block_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<Tensor> activations_;  // activations_[i] = output of layer i
  std::vector<Tensor> gradients_;    // gradients_[i] = dL/d(input of layer i+1)
  const Tensor* input_ = nullptr;    // input of the last forward
  // relu_fused_into_next_[i]: layer i is a ReLU that layer i + 1 applies itself in training
  // (Layer::fuses_preceding_relu); fused_last_forward_: the last forward was one of those.
  std::vector<bool> relu_fused_into_next_;
  bool fused_last_forward_ = false;
  // Training forwards without keys (see forward): the seed and how many there were.
  std::uint64_t seed_ = 0;
  std::uint64_t keyless_forwards_ = 0;
  // Scratch that grows only: the numbered image keys, and one layer's salted keys.
  std::vector<std::uint64_t> numbered_keys_;
  std::vector<std::uint64_t> layer_keys_;
};

}  // namespace cnn
