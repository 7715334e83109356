#include "cnn/nn/layers/dropout.hpp"

#include <sstream>

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
  rng_ = Rng(rng.next_u64());
}

void Dropout::forward(const Tensor& x, Tensor& y, bool training) {
  require(y.shape(), x.shape(), "output");
  mask_.resize(x.shape());  // allocates only when the batch grows
  if (!training || probability_ == 0.0) {
    mask_.fill(1.0f);
  } else {
    // Drawing the random words is the layer's (its generator is saved in checkpoints); turning
    // them into the mask is the kernel's. One word serves two elements.
    words_.resize((mask_.size() + 1) / 2);  // allocates only when the batch grows
    for (std::uint64_t& word : words_) word = rng_.next_u64();
    kernels::dropout_mask(words_.data(), mask_.data(), mask_.size(), probability_);
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
