#include "cnn/train/sgd.hpp"

#include <gtest/gtest.h>

namespace cnn {
namespace {

// The design's SGD with a time-based decay.
OptimizerOptions design(double learning_rate, double momentum, double decay) {
  OptimizerOptions options;
  options.learning_rate = learning_rate;
  options.momentum = momentum;
  options.schedule.decay = decay;
  return options;
}

TEST(SGD, ThreeStepsFollowTheDesignFormula) {
  // One weight w = 1 with gradients 0.5, -1, 2; lr 0.1, γ 0.9, decay 0.5:
  //   t=0: lr_0 = 0.1,          v = 0.05,                 w = 0.95
  //   t=1: lr_1 = 0.1/1.5,      v = 0.045 − 0.0666667,    w = 0.9716667
  //   t=2: lr_2 = 0.1/2 = 0.05, v = 0.9·v + 0.1 = 0.0805, w = 0.8911667
  Tensor w(Shape{1}), g(Shape{1});
  w[0] = 1.0f;
  ParameterBlock block({{"w", &w, &g}});
  SGD sgd(block, design(0.1, 0.9, 0.5));
  const float grads[] = {0.5f, -1.0f, 2.0f};
  const double expected_lr[] = {0.1, 0.1 / 1.5, 0.05};
  const double expected_w[] = {0.95, 0.9716666667, 0.8911666667};
  for (int t = 0; t < 3; ++t) {
    EXPECT_NEAR(sgd.current_learning_rate(), expected_lr[t], 1e-12);
    g[0] = grads[t];
    sgd.step();
    EXPECT_NEAR(w[0], expected_w[t], 1e-6) << "after step " << t + 1;
  }
  EXPECT_EQ(sgd.iterations(), 3u);
}

TEST(SGD, EveryParameterHasItsOwnVelocity) {
  Tensor a(Shape{2}), ga(Shape{2}), b(Shape{1}), gb(Shape{1});
  ParameterBlock block({{"a", &a, &ga}, {"b", &b, &gb}});
  SGD sgd(block, design(1.0, 0.5, 0.0));
  ga.fill(1.0f);
  gb.fill(-2.0f);
  sgd.step();  // v_a = 1, v_b = -2
  sgd.step();  // v_a = 1.5, v_b = -3
  EXPECT_FLOAT_EQ(a[0], -2.5f);
  EXPECT_FLOAT_EQ(a[1], -2.5f);
  EXPECT_FLOAT_EQ(b[0], 5.0f);
}

TEST(SGD, RejectsBadHyperparameters) {
  ParameterBlock none;
  EXPECT_THROW(SGD(none, design(0.0, 0.9, 0.0)), std::invalid_argument);
  EXPECT_THROW(SGD(none, design(0.1, 1.0, 0.0)), std::invalid_argument);
  EXPECT_THROW(SGD(none, design(0.1, 0.9, -1.0)), std::invalid_argument);
}

}  // namespace
}  // namespace cnn
