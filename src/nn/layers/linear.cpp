#include "cnn/nn/layers/linear.hpp"

#include <cmath>
#include <string>

#include "kernels/kernels.hpp"

namespace cnn {

Linear::Linear(std::size_t in_features, std::size_t out_features)
    : in_(in_features), out_(out_features) {
  if (in_ == 0 || out_ == 0) {
    throw std::invalid_argument(describe() + ": feature counts must be positive");
  }
  weight_ = Tensor(Shape{out_, in_});
  weight_grad_ = Tensor(weight_.shape());
  bias_ = Tensor(Shape{out_});
  bias_grad_ = Tensor(bias_.shape());
}

std::string Linear::describe() const {
  return "Linear(" + std::to_string(in_) + ", " + std::to_string(out_) + ")";
}

Shape Linear::output_shape(const Shape& input) const {
  if (input.rank() != 2 || input[1] != in_) {
    throw ShapeError(describe() + ": expected input [N, " + std::to_string(in_) + "], got " +
                     input.to_string());
  }
  return Shape{input[0], out_};
}

void Linear::forward(const Tensor& x, Tensor& y, bool /*training*/) {
  require(y.shape(), output_shape(x.shape()), "output");
  kernels::linear_forward(x.data(), weight_.data(), bias_.data(), y.data(), x.dim(0), in_, out_);
}

void Linear::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) {
  output_shape(x.shape());
  require(dy.shape(), y.shape(), "output gradient");
  if (dx != nullptr) require(dx->shape(), x.shape(), "input gradient");
  kernels::linear_backward(x.data(), weight_.data(), dy.data(), weight_grad_.data(),
                           bias_grad_.data(), dx != nullptr ? dx->data() : nullptr, x.dim(0), in_,
                           out_);
}

std::vector<Parameter> Linear::parameters() {
  return {{"weight", &weight_, &weight_grad_}, {"bias", &bias_, &bias_grad_}};
}

void Linear::initialize(Rng& rng, double gain) {
  const double std_dev = std::sqrt(
      weight_init_variance(init_, static_cast<double>(in_), static_cast<double>(out_), gain));
  for (std::size_t i = 0; i < weight_.size(); ++i) {
    weight_[i] = static_cast<float>(rng.normal() * std_dev);
  }
  bias_.zero();
}

}  // namespace cnn
