#include "cnn/nn/layers/dropout.hpp"

#include <sstream>
#include <stdexcept>
#include <string>

#include "kernels/kernels.hpp"

namespace cnn {

Dropout::Dropout(double probability) : probability_(probability) {
  if (!(probability >= 0.0 && probability < 1.0)) {
    throw std::invalid_argument(describe() + ": probability must be in [0, 1)");
  }
}

std::string Dropout::describe() const {
  std::ostringstream out;
  out << "Dropout(p=" << probability_ << ")";
  return out.str();
}

void Dropout::initialize(Rng& rng, double /*gain*/) {
  // Dropout has no weights and its masks come from image keys, but it still takes the one word
  // it once seeded its own generator with: the weights of the layers after it stay what the
  // same seed gave before.
  rng.next_u64();
}

void Dropout::set_image_keys(std::span<const std::uint64_t> keys) {
  image_keys_.assign(keys.begin(), keys.end());  // allocates only when the batch grows
}

void Dropout::forward(const Tensor& x, Tensor& y, bool training) {
  require(y.shape(), x.shape(), "output");
  mask_.resize(x.shape());  // allocates only when the batch grows
  if (!training || probability_ == 0.0) {
    mask_.fill(1.0f);
  } else {
    const std::size_t batch = x.shape().rank() > 0 ? x.dim(0) : 0;
    if (image_keys_.size() != batch) {
      throw std::invalid_argument(describe() + ": a training forward of " + std::to_string(batch) +
                                  " images needs one image key each, got " +
                                  std::to_string(image_keys_.size()) +
                                  " (Sequential::forward sets them through set_image_keys)");
    }
    // Drawing the random words is the layer's, from each image's own generator; turning them into
    // the mask is the kernel's. One word serves two elements of one image.
    const std::size_t per_image = batch > 0 ? mask_.size() / batch : 0;
    words_.resize((per_image + 1) / 2);  // allocates only when the images grow
    for (std::size_t n = 0; n < batch; ++n) {
      Rng rng(image_keys_[n]);
      for (std::uint64_t& word : words_) word = rng.next_u64();
      kernels::dropout_mask(words_.data(), mask_.data() + n * per_image, per_image, probability_);
    }
  }
  kernels::multiply(x.data(), mask_.data(), y.data(), x.size());
}

void Dropout::backward(const Tensor& x, const Tensor& /*y*/, const Tensor& dy, Tensor* dx) {
  if (dx == nullptr) return;
  require(mask_.shape(), x.shape(), "mask of the last forward");
  require(dy.shape(), x.shape(), "output gradient");
  require(dx->shape(), x.shape(), "input gradient");
  kernels::multiply(dy.data(), mask_.data(), dx->data(), x.size());
}

}  // namespace cnn
