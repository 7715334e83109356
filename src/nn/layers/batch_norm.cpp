#include "cnn/nn/layers/batch_norm.hpp"

#include <sstream>

#include "cnn/core/process_group.hpp"
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
  if (training && group_ != nullptr && group_->size() > 1) {
    forward_synchronised(x, y);
  } else if (training) {
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
  if (group_ != nullptr && group_->size() > 1) {
    backward_synchronised(x, dy, dx);
    return;
  }
  kernels::batch_norm_backward(x.data(), dy.data(), gamma_.data(), batch_mean_.data(),
                               batch_inv_std_.data(), gamma_grad_.data(), beta_grad_.data(),
                               dx != nullptr ? dx->data() : nullptr, x.dim(0), channels_,
                               spatial(x.shape()));
}

void BatchNorm::forward_synchronised(const Tensor& x, Tensor& y) {
  const std::size_t n = x.dim(0), s = spatial(x.shape());
  sums_.resize(channels_ + 1);
  squares_.resize(channels_);
  mean_.resize(channels_);
  kernels::batch_norm_sums(x.data(), sums_.data(), n, channels_, s);
  sums_[channels_] = static_cast<double>(n * s);
  group_->sum(sums_);
  global_count_ = static_cast<std::size_t>(sums_[channels_]);
  // A global batch always has values (training refuses a batch smaller than the process count);
  // this process's share may be empty.
  for (std::size_t c = 0; c < channels_; ++c) {
    mean_[c] = sums_[c] / static_cast<double>(global_count_);
  }
  kernels::batch_norm_squares(x.data(), mean_.data(), squares_.data(), n, channels_, s);
  group_->sum(squares_);
  kernels::batch_norm_normalize(
      x.data(), gamma_.data(), beta_.data(), y.data(), mean_.data(), squares_.data(), global_count_,
      batch_mean_.data(), batch_inv_std_.data(), running_mean_.data(), running_var_.data(), n,
      channels_, s, static_cast<float>(epsilon_), static_cast<float>(momentum_));
}

void BatchNorm::backward_synchronised(const Tensor& x, const Tensor& dy, Tensor* dx) {
  const std::size_t n = x.dim(0), s = spatial(x.shape());
  backward_sums_.resize(2 * channels_);
  double* sum_dy = backward_sums_.data();
  double* sum_dy_xhat = backward_sums_.data() + channels_;
  kernels::batch_norm_backward_sums(x.data(), dy.data(), batch_mean_.data(), batch_inv_std_.data(),
                                    sum_dy, sum_dy_xhat, n, channels_, s);
  // This process's own sums are its gradients; the training step sums them over the processes.
  for (std::size_t c = 0; c < channels_; ++c) {
    gamma_grad_.data()[c] = static_cast<float>(sum_dy_xhat[c]);
    beta_grad_.data()[c] = static_cast<float>(sum_dy[c]);
  }
  group_->sum(backward_sums_);
  if (dx == nullptr) return;
  kernels::batch_norm_backward_input(x.data(), dy.data(), gamma_.data(), batch_mean_.data(),
                                     batch_inv_std_.data(), sum_dy, sum_dy_xhat, global_count_,
                                     dx->data(), n, channels_, s);
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
