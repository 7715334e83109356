#include "cnn/nn/layers/batch_norm.hpp"

#include <sstream>

#include "kernels/kernels.hpp"

namespace cnn {

BatchNorm::BatchNorm(std::size_t channels, std::size_t dims, double epsilon, double momentum)
    : channels_(channels), dims_(dims), epsilon_(epsilon), momentum_(momentum) {
  if (channels == 0 || (dims != 1 && dims != 2)) {
    throw std::invalid_argument(describe() + ": channels must be positive and dims 1 or 2");
  }
  if (!(epsilon > 0.0) || !(momentum >= 0.0 && momentum <= 1.0)) {
    throw std::invalid_argument(describe() + ": needs eps > 0 and momentum in [0, 1]");
  }
  for (Tensor* t : {&gamma_, &beta_, &gamma_grad_, &beta_grad_, &running_mean_, &running_var_,
                    &batch_mean_, &batch_inv_std_}) {
    *t = Tensor(Shape{channels});
  }
  gamma_.fill(1.0f);
  running_var_.fill(1.0f);
}

std::string BatchNorm::describe() const {
  std::ostringstream out;
  out << "BatchNorm" << dims_ << "d(" << channels_ << ", eps=" << epsilon_
      << ", momentum=" << momentum_ << ")";
  return out.str();
}

Shape BatchNorm::output_shape(const Shape& input) const {
  const std::size_t rank = dims_ == 2 ? 4 : 2;
  if (input.rank() != rank || input[1] != channels_) {
    throw ShapeError(describe() + ": expected input " +
                     (dims_ == 2 ? "[N, " + std::to_string(channels_) + ", H, W]"
                                 : "[N, " + std::to_string(channels_) + "]") +
                     ", got " + input.to_string());
  }
  return input;
}

std::size_t BatchNorm::spatial(const Shape& input) const {
  return dims_ == 2 ? input[2] * input[3] : 1;
}

void BatchNorm::forward(const Tensor& x, Tensor& y, bool training) {
  require(y.shape(), output_shape(x.shape()), "output");
  const std::size_t n = x.dim(0), s = spatial(x.shape());
  if (training) {
    kernels::batch_norm_forward_train(x.data(), gamma_.data(), beta_.data(), y.data(),
                                      batch_mean_.data(), batch_inv_std_.data(),
                                      running_mean_.data(), running_var_.data(), n, channels_, s,
                                      static_cast<float>(epsilon_), static_cast<float>(momentum_));
  } else {
    kernels::batch_norm_forward_inference(x.data(), gamma_.data(), beta_.data(), y.data(),
                                          running_mean_.data(), running_var_.data(), n, channels_,
                                          s, static_cast<float>(epsilon_));
  }
}

void BatchNorm::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) {
  output_shape(x.shape());
  require(dy.shape(), y.shape(), "output gradient");
  if (dx != nullptr) require(dx->shape(), x.shape(), "input gradient");
  kernels::batch_norm_backward(x.data(), dy.data(), gamma_.data(), batch_mean_.data(),
                               batch_inv_std_.data(), gamma_grad_.data(), beta_grad_.data(),
                               dx != nullptr ? dx->data() : nullptr, x.dim(0), channels_,
                               spatial(x.shape()));
}

std::vector<Parameter> BatchNorm::parameters() {
  return {{"weight", &gamma_, &gamma_grad_}, {"bias", &beta_, &beta_grad_}};
}

std::vector<Buffer> BatchNorm::buffers() {
  return {{"running_mean", &running_mean_}, {"running_var", &running_var_}};
}

void BatchNorm::initialize(Rng& /*rng*/, double /*gain*/) {
  gamma_.fill(1.0f);
  beta_.zero();
  running_mean_.zero();
  running_var_.fill(1.0f);
}

}  // namespace cnn
