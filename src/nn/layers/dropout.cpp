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
    // Drawing the mask is sampling, not arithmetic; one 64-bit draw gives the 24-bit uniform
    // numbers of two elements.
    const auto keep = static_cast<float>(1.0 / (1.0 - probability_));
    const auto threshold = static_cast<std::uint32_t>(probability_ * 16777216.0);
    std::size_t i = 0;
    for (; i + 1 < mask_.size(); i += 2) {
      const std::uint64_t bits = rng_.next_u64();
      mask_[i] = (bits >> 40) >= threshold ? keep : 0.0f;
      mask_[i + 1] = ((bits >> 8) & 0xffffff) >= threshold ? keep : 0.0f;
    }
    if (i < mask_.size()) mask_[i] = (rng_.next_u64() >> 40) >= threshold ? keep : 0.0f;
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
