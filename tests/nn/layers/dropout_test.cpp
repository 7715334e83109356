#include "cnn/nn/layers/dropout.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "gradient_check.hpp"

namespace cnn {
namespace {

// Value k of image n of a batch [N, K].
float value(const Tensor& t, std::size_t n, std::size_t k) {
  return t[n * t.dim(1) + k];
}

// Keys 1000 + n for the N images of a batch.
std::vector<std::uint64_t> keys_for(std::size_t batch) {
  std::vector<std::uint64_t> keys(batch);
  for (std::size_t n = 0; n < batch; ++n) keys[n] = 1000 + n;
  return keys;
}

TEST(Dropout, GradientMatchesCentralDifferencesForAFixedMask) {
  // The keys stay set, so every evaluation of the loss sees one mask.
  Dropout layer(0.4);
  layer.set_image_keys(keys_for(2));
  testing::check_layer_gradients(layer, testing::random_tensor(Shape{2, 3, 4, 4}, 4));
}

TEST(Dropout, DropsAboutPAndScalesTheRest) {
  Dropout dropout(0.3);
  Tensor x(Shape{100, 100}), y(x.shape());
  x.fill(1.0f);
  dropout.set_image_keys(keys_for(100));
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
  dropout.forward(x, y, false);  // no keys needed
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(y[i], x[i]);
}

TEST(Dropout, AnImagesMaskDependsOnItsKeyAloneNotOnTheBatch) {
  // Batch [a, b, c] with keys [ka, kb, kc], then [c, a] with [kc, ka]: each image gets the same
  // mask in both, at whatever position. 33 values per image: odd, so a word is never shared
  // between two images.
  const std::size_t features = 33;
  Tensor ones(Shape{3, features}), y3(ones.shape());
  ones.fill(1.0f);
  Dropout dropout(0.5);
  dropout.set_image_keys(std::vector<std::uint64_t>{11, 22, 33});
  dropout.forward(ones, y3, true);
  Tensor two(Shape{2, features}), y2(two.shape());
  two.fill(1.0f);
  dropout.set_image_keys(std::vector<std::uint64_t>{33, 11});
  dropout.forward(two, y2, true);
  bool a_differs_from_c = false, a_differs_from_b = false;
  for (std::size_t k = 0; k < features; ++k) {
    EXPECT_EQ(value(y2, 0, k), value(y3, 2, k)) << k;  // image c
    EXPECT_EQ(value(y2, 1, k), value(y3, 0, k)) << k;  // image a
    a_differs_from_c = a_differs_from_c || value(y3, 0, k) != value(y3, 2, k);
    a_differs_from_b = a_differs_from_b || value(y3, 0, k) != value(y3, 1, k);
  }
  // Other keys, other masks (two equal masks of 33 values at p = 0.5: probability 2^-33).
  EXPECT_TRUE(a_differs_from_c);
  EXPECT_TRUE(a_differs_from_b);
}

TEST(Dropout, TrainingWithoutAKeyPerImageIsRefusedNamingBothCounts) {
  Dropout dropout(0.5);
  const Tensor x = testing::random_tensor(Shape{3, 4}, 3);
  Tensor y(x.shape());
  try {
    dropout.forward(x, y, true);
    FAIL() << "a training forward without keys was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("3 images needs one image key each, got 0"),
              std::string::npos)
        << e.what();
  }
  dropout.set_image_keys(keys_for(2));
  EXPECT_THROW(dropout.forward(x, y, true), std::invalid_argument);
  dropout.set_image_keys(keys_for(3));
  EXPECT_NO_THROW(dropout.forward(x, y, true));
  EXPECT_THROW(Dropout(1.0), std::invalid_argument);
  EXPECT_THROW(Dropout(-0.1), std::invalid_argument);
}

}  // namespace
}  // namespace cnn
