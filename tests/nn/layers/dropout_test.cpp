#include "cnn/nn/layers/dropout.hpp"

#include <gtest/gtest.h>

#include "gradient_check.hpp"

namespace cnn {
namespace {

// Dropout draws a new mask on every training forward; for the gradient check the wrapper
// restarts the generator before each forward, so every evaluation of the loss sees one mask.
class FixedMaskDropout : public Layer {
 public:
  explicit FixedMaskDropout(double p) : dropout_(p) {}
  std::string kind() const override { return "dropout"; }
  InitRole init_role() const override { return dropout_.init_role(); }
  std::string describe() const override { return dropout_.describe(); }
  Shape output_shape(const Shape& input) const override { return dropout_.output_shape(input); }
  void forward(const Tensor& x, Tensor& y, bool training) override {
    dropout_.reseed(42);
    dropout_.forward(x, y, training);
  }
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override {
    dropout_.backward(x, y, dy, dx);
  }

 private:
  Dropout dropout_;
};

TEST(Dropout, GradientMatchesCentralDifferencesForAFixedMask) {
  FixedMaskDropout layer(0.4);
  testing::check_layer_gradients(layer, testing::random_tensor(Shape{2, 3, 4, 4}, 4));
}

TEST(Dropout, DropsAboutPAndScalesTheRest) {
  Dropout dropout(0.3);
  Tensor x(Shape{100, 100}), y(x.shape());
  x.fill(1.0f);
  dropout.forward(x, y, true);
  std::size_t zeros = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (y[i] == 0.0f) {
      ++zeros;
    } else {
      EXPECT_FLOAT_EQ(y[i], 1.0f / 0.7f);
    }
  }
  // 10000 draws: the dropped fraction is 0.3 ± 0.005 (one standard deviation), so ± 0.03 is safe.
  EXPECT_NEAR(static_cast<double>(zeros) / 10000.0, 0.3, 0.03);
  Tensor dy(x.shape()), dx(x.shape());
  dy.fill(2.0f);
  dropout.backward(x, y, dy, &dx);
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_EQ(dx[i], 2.0f * y[i]);
}

TEST(Dropout, InferenceIsTheIdentity) {
  Dropout dropout(0.5);
  const Tensor x = testing::random_tensor(Shape{4, 9}, 3);
  Tensor y(x.shape());
  dropout.forward(x, y, false);
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(y[i], x[i]);
}

TEST(Dropout, TheSameSeedGivesTheSameMasks) {
  Dropout a(0.5), b(0.5);
  Rng ra(7), rb(7);
  a.initialize(ra, 1.0);
  b.initialize(rb, 1.0);
  const Tensor x = testing::random_tensor(Shape{3, 33}, 3);
  Tensor ya(x.shape()), yb(x.shape());
  for (int round = 0; round < 3; ++round) {
    a.forward(x, ya, true);
    b.forward(x, yb, true);
    for (std::size_t i = 0; i < x.size(); ++i) ASSERT_EQ(ya[i], yb[i]);
  }
  EXPECT_THROW(Dropout(1.0), std::invalid_argument);
  EXPECT_THROW(Dropout(-0.1), std::invalid_argument);
}

}  // namespace
}  // namespace cnn
