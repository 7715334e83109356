// Numerical safety: the finiteness check, and training stopping before a non-finite step is
// applied, naming the iteration and the first layer with non-finite values.
#include "cnn/train/divergence.hpp"

#include <gtest/gtest.h>

#include "assertions.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "cnn/arch/presets.hpp"
#include "cnn/train/training.hpp"
#include "kernels/kernels.hpp"

namespace cnn {
namespace {

using cnn::testing::Contains;

TEST(AllFinite, FindsANaNOrInfinityAtEveryPositionAndLength) {
  const float bad[] = {std::numeric_limits<float>::quiet_NaN(),
                       std::numeric_limits<float>::infinity(),
                       -std::numeric_limits<float>::infinity()};
  // Up to two whole blocks of the kernel's four vectors with AVX-512 (128 floats), and every tail.
  for (std::size_t length = 0; length < 140; ++length) {
    std::vector<float> values(length);
    for (std::size_t i = 0; i < length; ++i) {
      values[i] = (i % 2 ? -1.0f : 1.0f) * std::numeric_limits<float>::max() / float(i + 1);
    }
    EXPECT_TRUE(kernels::all_finite(values.data(), length)) << length;
    for (std::size_t at = 0; at < length; ++at) {
      for (const float value : bad) {
        std::vector<float> broken = values;
        broken[at] = value;
        EXPECT_FALSE(kernels::all_finite(broken.data(), length)) << length << " " << at;
      }
    }
  }
}

Dataset constant_images(std::size_t count) {
  std::vector<std::uint8_t> pixels(count * 144, 100), labels(count);
  for (std::size_t i = 0; i < count; ++i) labels[i] = static_cast<std::uint8_t>(i % 4);
  return Dataset(std::move(pixels), std::move(labels), 12, 12, 4);
}

std::vector<float> weights_of(Sequential& model) {
  std::vector<float> weights;
  for (const Parameter& p : model.parameters()) {
    weights.insert(weights.end(), p.value->data(), p.value->data() + p.value->size());
  }
  return weights;
}

// Trains the seed network after `spoil` has run on it and returns the error message.
template <class Spoil>
std::string divergence_message(Spoil spoil, std::size_t* iteration = nullptr) {
  Sequential model = make_preset("seed", Shape{1, 12, 12}, 4);
  model.initialize(1);
  TrainOptions options;
  options.batch_size = 4;
  options.iterations = 5;
  spoil(model);
  const std::vector<float> before = weights_of(model);
  try {
    train(model, constant_images(8), options);
  } catch (const TrainingDiverged& e) {
    if (iteration != nullptr) *iteration = e.iteration();
    // The step was not applied: the weights are those from before (bit for bit, NaN included).
    const std::vector<float> after = weights_of(model);
    EXPECT_EQ(std::memcmp(after.data(), before.data(), after.size() * sizeof(float)), 0);
    return e.what();
  }
  ADD_FAILURE() << "training did not stop";
  return {};
}

TEST(Divergence, AWeightThatIsNaNIsNamed) {
  std::size_t iteration = 0;
  const std::string message = divergence_message(
      [](Sequential& m) {
        // The output layer: a NaN before a ReLU would be masked (max(0, NaN) is 0 there).
        (*m.layer(6).parameters()[0].value)[7] = std::numeric_limits<float>::quiet_NaN();
      },
      &iteration);
  EXPECT_EQ(iteration, 1u);
  EXPECT_TRUE(Contains(message, "training diverged at iteration 1: the loss is NaN"));
  EXPECT_TRUE(Contains(message, "layer 6 (Linear(84, 4)): its weight"));
}

TEST(Divergence, AnOutputThatOverflowsIsNamed) {
  // Finite weights whose products overflow float: the first layer's output is infinite.
  const std::string message = divergence_message([](Sequential& m) {
    Tensor& w = *m.layer(0).parameters()[0].value;
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = 3e38f;
  });
  EXPECT_TRUE(Contains(message, "at iteration 1"));
  EXPECT_TRUE(Contains(message, "layer 0 (Conv2D(1, 3, kernel=5x5"));
  EXPECT_TRUE(Contains(message, "its output"));
}

TEST(Divergence, AGradientThatIsNotFiniteIsNamedWhenTheLossIsFinite) {
  Sequential model = make_preset("seed", Shape{1, 12, 12}, 4);
  model.initialize(1);
  std::vector<Parameter> parameters = model.parameters();
  for (Parameter& p : parameters) p.grad->zero();
  Tensor x(Shape{2, 1, 12, 12});
  EXPECT_NO_THROW(check_step_is_finite(1.5, model, x, 7));
  (*model.layer(6).parameters()[1].grad)[2] = -std::numeric_limits<float>::infinity();
  try {
    check_step_is_finite(1.5, model, x, 7);
    FAIL() << "no error";
  } catch (const TrainingDiverged& e) {
    EXPECT_EQ(e.iteration(), 7u);
    EXPECT_TRUE(Contains(e.what(), "at iteration 7: the loss is 1.5"));
    EXPECT_TRUE(Contains(e.what(), "layer 6 (Linear(84, 4)): the gradient of its bias"));
  }
  EXPECT_THROW(check_step_is_finite(std::numeric_limits<double>::infinity(), model, x, 7),
               TrainingDiverged);
}

}  // namespace
}  // namespace cnn
