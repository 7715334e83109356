#include "cnn/nn/layers/linear.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "gradient_check.hpp"

namespace cnn {
namespace {

TEST(Linear, GradientsMatchCentralDifferences) {
  for (const auto& [batch, in, out] : {std::tuple{1, 5, 3}, {4, 7, 6}, {3, 20, 11}}) {
    Linear layer(in, out);
    Rng rng(4);
    layer.initialize(rng, 2.0);
    for (std::size_t i = 0; i < layer.bias().size(); ++i) layer.bias()[i] = 0.05f * float(i);
    testing::check_layer_gradients(
        layer, testing::random_tensor(Shape{std::size_t(batch), std::size_t(in)}, 8));
  }
}

TEST(Linear, ForwardIsXTimesWTransposedPlusBias) {
  Linear layer(3, 2);
  // W = [[1, 2, 3], [-1, 0, 1]], b = [0.5, -0.5]
  const float w[] = {1, 2, 3, -1, 0, 1};
  std::copy(std::begin(w), std::end(w), layer.weight().data());
  layer.bias()[0] = 0.5f;
  layer.bias()[1] = -0.5f;
  Tensor x(Shape{2, 3});
  const float xs[] = {1, 1, 1, 2, 0, -1};
  std::copy(std::begin(xs), std::end(xs), x.data());
  Tensor y(layer.output_shape(x.shape()));
  layer.forward(x, y, false);
  EXPECT_FLOAT_EQ(y[0], 6.5f);   // 1+2+3+0.5
  EXPECT_FLOAT_EQ(y[1], -0.5f);  // -1+0+1-0.5
  EXPECT_FLOAT_EQ(y[2], -0.5f);  // 2-3+0.5
  EXPECT_FLOAT_EQ(y[3], -3.5f);  // -2-1-0.5
}

TEST(Linear, InitialisationIsSeededHeNormal) {
  Linear a(400, 100), b(400, 100);
  Rng r1(42), r2(42);
  a.initialize(r1, 2.0);
  b.initialize(r2, 2.0);
  double sum = 0, squares = 0;
  for (std::size_t i = 0; i < a.weight().size(); ++i) {
    ASSERT_EQ(a.weight()[i], b.weight()[i]);
    sum += a.weight()[i];
    squares += double{a.weight()[i]} * a.weight()[i];
  }
  const double n = static_cast<double>(a.weight().size());
  EXPECT_NEAR(sum / n, 0.0, 0.005);
  EXPECT_NEAR(std::sqrt(squares / n), std::sqrt(2.0 / 400.0), 0.002);  // He: sqrt(2 / fan_in)
}

TEST(Linear, RejectsWrongFeatureCount) {
  Linear layer(363, 84);
  try {
    layer.output_shape(Shape{4, 362});
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[N, 363]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[4, 362]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cnn
