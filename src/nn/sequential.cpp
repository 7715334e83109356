#include "cnn/nn/sequential.hpp"

#include <sstream>
#include <stdexcept>
#include <string>

namespace cnn {

Sequential::Sequential() = default;
Sequential::Sequential(Sequential&&) noexcept = default;
Sequential& Sequential::operator=(Sequential&&) noexcept = default;
Sequential::~Sequential() = default;

Layer& Sequential::add(std::unique_ptr<Layer> layer) {
  layers_.push_back(std::move(layer));
  activations_.emplace_back();
  gradients_.emplace_back();
  relu_fused_into_next_.push_back(false);
  const std::size_t n = layers_.size();
  if (n >= 2 && layers_[n - 2]->kind() == "relu" && layers_[n - 1]->fuses_preceding_relu()) {
    relu_fused_into_next_[n - 2] = true;
  }
  // Laid out anew on every add: the copies are small next to one training step, and the block is
  // whole whatever order layers are added and used in.
  std::vector<Parameter> all;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    for (Parameter p : layers_[i]->parameters()) {
      p.name = std::to_string(i) + "." + p.name;
      all.push_back(std::move(p));
    }
  }
  block_ = ParameterBlock(std::move(all));
  return *layers_.back();
}

Shape Sequential::output_shape(const Shape& input) const {
  Shape shape = input;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    try {
      shape = layers_[i]->output_shape(shape);
    } catch (const ShapeError& e) {
      throw ShapeError("layer " + std::to_string(i) + " (" + layers_[i]->describe() +
                       "): " + e.what());
    }
  }
  return shape;
}

std::span<const std::uint64_t> Sequential::training_keys(
    const Tensor& x, std::span<const std::uint64_t> image_keys) {
  const std::size_t batch = x.shape().rank() > 0 ? x.dim(0) : 0;
  if (!image_keys.empty()) {
    if (image_keys.size() != batch) {
      throw std::invalid_argument("Sequential::forward: " + std::to_string(image_keys.size()) +
                                  " image keys for a batch of " + std::to_string(batch) +
                                  " images; training needs one key per image");
    }
    return image_keys;
  }
  numbered_keys_.resize(batch);  // allocates only when the batch grows
  for (std::size_t n = 0; n < batch; ++n) {
    numbered_keys_[n] = image_key(seed_, keyless_forwards_, n);
  }
  ++keyless_forwards_;
  return numbered_keys_;
}

const Tensor& Sequential::forward(const Tensor& x, bool training,
                                  std::span<const std::uint64_t> image_keys) {
  if (layers_.empty()) throw std::logic_error("Sequential::forward: the model has no layers");
  if (training) image_keys = training_keys(x, image_keys);
  input_ = &x;
  fused_last_forward_ = training;
  const Tensor* in = &x;
  const Tensor* relu_input = nullptr;  // the input of a ReLU that the next layer applies
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    Shape out_shape;
    try {
      out_shape = layers_[i]->output_shape(in->shape());
    } catch (const ShapeError& e) {
      throw ShapeError("layer " + std::to_string(i) + " (" + layers_[i]->describe() +
                       "): " + e.what());
    }
    activations_[i].resize(out_shape);  // allocates only when the batch grows
    if (training && layers_[i]->draws_random_numbers()) {
      layer_keys_.resize(image_keys.size());  // allocates only when the batch grows
      for (std::size_t n = 0; n < image_keys.size(); ++n) {
        layer_keys_[n] = mix_key(image_keys[n], layer_salt(i));
      }
      layers_[i]->set_image_keys(layer_keys_);
    }
    if (training && relu_fused_into_next_[i]) {
      relu_input = in;  // layer i's output is left unwritten
    } else if (relu_input != nullptr) {
      layers_[i]->forward_after_relu(*relu_input, activations_[i], training);
      relu_input = nullptr;
    } else {
      layers_[i]->forward(*in, activations_[i], training);
    }
    in = &activations_[i];
  }
  return activations_.back();
}

void Sequential::backward(const Tensor& dlogits) {
  backward_impl(dlogits, nullptr);
}

void Sequential::backward(const Tensor& dlogits, Tensor& input_grad) {
  backward_impl(dlogits, &input_grad);
}

void Sequential::backward_impl(const Tensor& dlogits, Tensor* input_grad) {
  if (input_ == nullptr) throw std::logic_error("Sequential::backward called before forward");
  require_shape(dlogits.shape(), activations_.back().shape(), "Sequential::backward dL/dlogits");
  const Tensor* dy = &dlogits;
  for (std::size_t i = layers_.size(); i-- > 0;) {
    // Layer i, or layer i and the ReLU before it that the last forward fused into it.
    const bool after_relu = fused_last_forward_ && i > 0 && relu_fused_into_next_[i - 1];
    const std::size_t first = after_relu ? i - 1 : i;
    const Tensor& x = first == 0 ? *input_ : activations_[first - 1];
    Tensor* dx = nullptr;
    if (first > 0) {
      gradients_[first - 1].resize(x.shape());
      dx = &gradients_[first - 1];
    } else if (input_grad != nullptr) {
      input_grad->resize(x.shape());
      dx = input_grad;
    }
    if (after_relu) {
      layers_[i]->backward_after_relu(x, activations_[i], *dy, dx);
    } else {
      layers_[i]->backward(x, activations_[i], *dy, dx);
    }
    dy = dx;
    i = first;
  }
}

std::vector<Parameter> Sequential::parameters() {
  return block_.parameters();
}

std::size_t Sequential::parameter_count() {
  std::size_t count = 0;
  for (const Parameter& p : parameters()) count += p.value->size();
  return count;
}

std::vector<Buffer> Sequential::buffers() {
  std::vector<Buffer> all;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    for (Buffer b : layers_[i]->buffers()) {
      b.name = std::to_string(i) + "." + b.name;
      all.push_back(std::move(b));
    }
  }
  return all;
}

void Sequential::set_process_group(ProcessGroup* group) {
  for (auto& layer : layers_) layer->set_process_group(group);
}

void Sequential::initialize(std::uint64_t seed) {
  seed_ = seed;
  keyless_forwards_ = 0;
  Rng rng(seed);
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    // The gain of the next layer that changes values (a ReLU: 2, He), 1 (LeCun) when there is
    // none, as for the logits that feed the softmax.
    std::size_t next = i + 1;
    while (next < layers_.size() && layers_[next]->init_role().is_looked_through()) ++next;
    const double gain = next < layers_.size() ? layers_[next]->init_role().gain() : 1.0;
    layers_[i]->initialize(rng, gain);
  }
}

std::string Sequential::summary(const Shape& input) {
  std::ostringstream out;
  Shape shape = input;
  out << "input " << shape.to_string() << "\n";
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    shape = layers_[i]->output_shape(shape);
    std::size_t count = 0;
    for (const Parameter& p : layers_[i]->parameters()) count += p.value->size();
    out << "  " << i << ": " << layers_[i]->describe() << " -> " << shape.to_string();
    if (count > 0) out << ", " << count << " parameters";
    out << "\n";
  }
  out << "total parameters: " << parameter_count() << "\n";
  return out.str();
}

}  // namespace cnn
