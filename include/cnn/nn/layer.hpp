// Layer: the interface every layer implements.
//
// A layer maps one batch tensor to another. forward() and backward() hold no arithmetic
// themselves; they check shapes and call the kernels in kernels.hpp, so a second backend can
// supply the arithmetic without touching the layers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cnn/core/rng.hpp"
#include "cnn/core/tensor.hpp"

namespace cnn {

class ProcessGroup;

// A trainable tensor with its gradient. name follows PyTorch's state_dict suffixes ("weight",
// "bias"); the model prefixes the layer index.
struct Parameter {
  std::string name;
  Tensor* value;
  Tensor* grad;
};

// A tensor of state that is not trained by gradients but belongs in the model file, such as batch
// normalisation's running statistics ("running_mean"; the model prefixes the layer index).
struct Buffer {
  std::string name;
  Tensor* value;
};

// How a layer with weights draws them (normal, mean 0): automatic picks gain / fan_in with the
// gain the model passes in (see Layer::initialize); he: 2 / fan_in (He et al. 2015); lecun:
// 1 / fan_in; glorot: 2 / (fan_in + fan_out) (Glorot and Bengio 2010).
enum class WeightInit { automatic, he, lecun, glorot };

// Variance of the initial weights for a choice, a layer's fans and the model's gain.
double weight_init_variance(WeightInit init, double fan_in, double fan_out, double gain);

// What a layer means for the initial weights of the layers before it (Sequential::initialize):
// the weights of a layer are drawn with the gain of the first layer after it that is not looked
// through.
class InitRole {
 public:
  // Keeps the scale of what it gets and does not change which activation follows: pooling,
  // flattening, batch normalisation (it rescales whatever it gets), dropout.
  static InitRole looked_through() { return InitRole(true, 1.0); }
  // An activation that keeps the scale of its input when that has variance gain / fan_in: 2 for
  // a ReLU, which zeroes half the signal (He et al. 2015).
  static InitRole activation(double gain) { return InitRole(false, gain); }
  // Anything else: what it gets is used as it is (LeCun's variance, gain 1).
  static InitRole other() { return InitRole(false, 1.0); }

  bool is_looked_through() const { return looked_through_; }
  double gain() const { return gain_; }

 private:
  InitRole(bool looked_through, double gain) : looked_through_(looked_through), gain_(gain) {}
  bool looked_through_;
  double gain_;
};

class Layer {
 public:
  virtual ~Layer() = default;

  // Short type name of the class in lower case ("conv2d", "batchnorm1d", "relu"), for tests and
  // tools that ask what a layer is; the architecture language names layers its own way ("conv").
  virtual std::string kind() const = 0;
  // Readable one-line description with hyperparameters, e.g. "Conv2D(1, 3, kernel=5x5, ...)".
  virtual std::string describe() const = 0;
  // Shape of the output for a given input shape; throws ShapeError naming the shape that does not
  // fit.
  virtual Shape output_shape(const Shape& input) const = 0;

  // y = layer(x). y has been resized to output_shape(x.shape()) by the caller. training=true lets
  // a layer keep what backward needs (for example the arg-max of each pooling window).
  virtual void forward(const Tensor& x, Tensor& y, bool training) = 0;

  // Given x and y from the last forward and dL/dy, writes the parameter gradients (overwriting,
  // not accumulating) and, when dx is not null, dL/dx (already sized like x).
  virtual void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) = 0;

  virtual std::vector<Parameter> parameters() { return {}; }
  virtual std::vector<Buffer> buffers() { return {}; }
  // Draws fresh initial weights with variance gain / fan_in: gain 2 when a ReLU follows (He et
  // al. 2015: the ReLU zeroes half the signal, so twice the variance keeps its scale), gain 1
  // when the output is used as it is, such as logits feeding the softmax (LeCun's variance).
  virtual void initialize(Rng& /*rng*/, double /*gain*/) {}
  // What this layer means for the initial weights of the layers before it (see InitRole). Every
  // layer says, so that a new one cannot silently take another's gain.
  virtual InitRole init_role() const = 0;
  // Whether the layer draws random numbers in a training forward (dropout's masks). Such a layer
  // draws image n's numbers from Rng(keys[n]) alone, with the keys of set_image_keys, so that
  // they depend on the image and the layer, not on the rest of the batch or on who draws them
  // (a data-parallel run's processes each take a share of the batch), and a resumed run draws
  // the same numbers without saving a generator.
  virtual bool draws_random_numbers() const { return false; }
  // One key per image of the next training forward's batch, already salted for this layer
  // (Sequential passes mix_key(image key, layer_salt(layer index))). The layer copies them (no
  // allocation once the largest batch has been seen). Ignored by layers that draw nothing.
  virtual void set_image_keys(std::span<const std::uint64_t> /*keys*/) {}
  // The processes of a data-parallel run (null: this process alone), for layers whose training
  // arithmetic spans the whole batch (batch normalisation's statistics); others ignore it.
  virtual void set_process_group(ProcessGroup* /*group*/) {}

  // Whether a ReLU right before this layer can be fused into it: Sequential then skips the ReLU in
  // training forwards and backwards and calls the two functions below, so that relu(x) is never
  // written and read back (max pooling does this). x is the ReLU's input; y, dy and dx are as in
  // forward() and backward(), and the results must be those of the ReLU and then this layer, bit
  // for bit.
  virtual bool fuses_preceding_relu() const { return false; }
  // y = layer(relu(x)). Only called when fuses_preceding_relu(); the default throws.
  virtual void forward_after_relu(const Tensor& x, Tensor& y, bool training);
  // dL/dx through this layer and the ReLU before it (when dx is not null), and this layer's
  // parameter gradients. Only called when fuses_preceding_relu(); the default throws.
  virtual void backward_after_relu(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx);

 protected:
  // Checks once per process that this CPU runs the kernels' instruction set: throws
  // UnsupportedCpu otherwise (core/instruction_set.hpp, require_cpu_support), before any kernel
  // can die of an illegal instruction.
  Layer();

  // Throws ShapeError "<describe()> <what>: expected shape [..], got [..]" when the shapes
  // differ. Builds the message only then: the training loop calls this on every step.
  void require(const Shape& actual, const Shape& expected, std::string_view what) const;
};

}  // namespace cnn
