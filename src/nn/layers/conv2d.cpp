#include "cnn/nn/layers/conv2d.hpp"
#include "kernels/kernels.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace cnn {

namespace {

std::string size2(Size2 s) {
  return std::to_string(s.h) + "x" + std::to_string(s.w);
}

}  // namespace

Conv2D::Conv2D(std::size_t in_channels, std::size_t out_channels, Size2 kernel, Size2 stride,
               Size2 padding)
    : in_channels_(in_channels),
      out_channels_(out_channels),
      kernel_(kernel),
      stride_(stride),
      padding_(padding) {
  if (in_channels == 0 || out_channels == 0 || kernel.h == 0 || kernel.w == 0 || stride.h == 0 ||
      stride.w == 0) {
    throw std::invalid_argument(describe() +
                                ": channels, kernel size and stride must all be positive");
  }
  weight_ = Tensor(Shape{out_channels, in_channels, kernel.h, kernel.w});
  weight_grad_ = Tensor(weight_.shape());
  bias_ = Tensor(Shape{out_channels});
  bias_grad_ = Tensor(bias_.shape());
}

std::string Conv2D::describe() const {
  return "Conv2D(" + std::to_string(in_channels_) + ", " + std::to_string(out_channels_) +
         ", kernel=" + size2(kernel_) + ", stride=" + size2(stride_) +
         ", padding=" + size2(padding_) +
         (algorithm_ == ConvAlgorithm::winograd ? ", algorithm=winograd" : "") + ")";
}

void Conv2D::set_algorithm(ConvAlgorithm algorithm) {
  if (!conv_algorithm_applies(algorithm, kernel_, stride_, padding_)) {
    throw std::invalid_argument(describe() +
                                ": the Winograd algorithm needs a 3x3 kernel, stride 1 and "
                                "padding of at most 2");
  }
  algorithm_ = algorithm;
}

WindowGeometry Conv2D::geometry(const Shape& input) const {
  if (input.rank() != 4 || input[1] != in_channels_) {
    throw ShapeError(describe() + ": expected input [N, " + std::to_string(in_channels_) +
                     ", H, W], got " + input.to_string());
  }
  WindowGeometry g{in_channels_, input[2], input[3], kernel_, stride_, padding_};
  if (!g.fits()) {
    throw ShapeError(describe() + ": input " + input.to_string() +
                     " is smaller than the kernel even with padding");
  }
  return g;
}

Shape Conv2D::output_shape(const Shape& input) const {
  const WindowGeometry g = geometry(input);
  return Shape{input[0], out_channels_, g.out_h(), g.out_w()};
}

void Conv2D::forward(const Tensor& x, Tensor& y, bool /*training*/) {
  const WindowGeometry g = geometry(x.shape());
  require(y.shape(), output_shape(x.shape()), "output");
  const std::size_t batch = x.dim(0);
  saved_.resize(Shape{kernels::conv2d_saved_size(batch, g)});
  workspace_.resize(Shape{kernels::conv2d_workspace_size(batch, out_channels_, g, algorithm_)});
  kernels::conv2d_forward(x.data(), weight_.data(), bias_.data(), y.data(), saved_.data(),
                          workspace_.data(), batch, out_channels_, g, algorithm_);
}

void Conv2D::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) {
  const WindowGeometry g = geometry(x.shape());
  require(dy.shape(), y.shape(), "output gradient");
  if (dx != nullptr) require(dx->shape(), x.shape(), "input gradient");
  const std::size_t batch = x.dim(0);
  workspace_.resize(Shape{kernels::conv2d_workspace_size(batch, out_channels_, g, algorithm_)});
  kernels::conv2d_backward(x.data(), dy.data(), saved_.data(), weight_.data(), weight_grad_.data(),
                           bias_grad_.data(), dx != nullptr ? dx->data() : nullptr,
                           workspace_.data(), batch, out_channels_, g, algorithm_);
}

std::vector<Parameter> Conv2D::parameters() {
  return {{"weight", &weight_, &weight_grad_}, {"bias", &bias_, &bias_grad_}};
}

void Conv2D::initialize(Rng& rng, double gain) {
  const double fan_in = static_cast<double>(in_channels_ * kernel_.h * kernel_.w);
  const double fan_out = static_cast<double>(out_channels_ * kernel_.h * kernel_.w);
  const double std_dev = std::sqrt(weight_init_variance(init_, fan_in, fan_out, gain));
  for (std::size_t i = 0; i < weight_.size(); ++i) {
    weight_[i] = static_cast<float>(rng.normal() * std_dev);
  }
  bias_.zero();
}

}  // namespace cnn
