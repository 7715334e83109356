// The gradient checker must be able to fail, or every layer test passing would prove nothing.
#include "gradient_check.hpp"

#include <gtest/gtest.h>

#include "cnn/nn/layers/linear.hpp"
#include "cnn/nn/layers/relu.hpp"

namespace cnn {
namespace {

// A ReLU whose backward forgets the mask: the mistake of passing gradients through z <= 0.
class LeakyBugReLU : public ReLU {
 public:
  void backward(const Tensor&, const Tensor&, const Tensor& dy, Tensor* dx) override { *dx = dy; }
};

TEST(GradientCheck, CatchesAWrongInputGradient) {
  LeakyBugReLU relu;
  Tensor x = testing::random_tensor(Shape{2, 6}, 1);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] += x[i] >= 0 ? 0.05f : -0.05f;
  Tensor y(x.shape()), dx(x.shape());
  relu.forward(x, y, true);
  const Tensor r = testing::random_tensor(y.shape(), 2);
  relu.backward(x, y, r, &dx);
  Tensor probe;
  const auto loss = [&] { return testing::projected_loss(relu, x, r, probe); };
  EXPECT_FALSE(testing::compare_gradient("dx", x, dx, loss));
}

TEST(GradientCheck, CatchesAWeightGradientOffByOneElement) {
  Linear layer(4, 3);
  Rng rng(1);
  layer.initialize(rng, 2.0);
  Tensor x = testing::random_tensor(Shape{2, 4}, 3);
  Tensor y(Shape{2, 3});
  layer.forward(x, y, true);
  const Tensor r = testing::random_tensor(y.shape(), 4);
  layer.backward(x, y, r, nullptr);
  Parameter weight = layer.parameters()[0];
  Tensor analytic = *weight.grad;
  analytic[5] += 0.05f;  // one element slightly wrong
  Tensor probe;
  const auto loss = [&] { return testing::projected_loss(layer, x, r, probe); };
  EXPECT_FALSE(testing::compare_gradient("dW", *weight.value, analytic, loss));
  analytic[5] -= 0.05f;
  EXPECT_TRUE(testing::compare_gradient("dW", *weight.value, analytic, loss));
}

}  // namespace
}  // namespace cnn
