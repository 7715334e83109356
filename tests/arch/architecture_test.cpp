#include "cnn/arch/architecture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "cnn/arch/presets.hpp"
#include "cnn/nn/layers/batch_norm.hpp"
#include "cnn/nn/layers/conv2d.hpp"
#include "cnn/nn/layers/linear.hpp"
#include "gradient_check.hpp"

namespace cnn {
namespace {

const Shape kImage{1, 28, 28};

// The message of the ArchitectureError that building text throws (fails the test otherwise).
std::string error_of(const std::string& text, std::size_t classes = 10) {
  try {
    build_architecture(text, kImage, classes);
  } catch (const ArchitectureError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected an ArchitectureError, got: " << e.what();
    return {};
  }
  ADD_FAILURE() << "'" << text << "' was accepted";
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Architecture, BuildsLayersAndInfersShapes) {
  Sequential model = build_architecture(
      "conv(8,3,pad=1) bn relu maxpool(2) conv(16, 3, stride=2) bn leakyrelu(0.1) avgpool(2) "
      "dropout(0.25) fc(32) bn tanh fc(classes)",
      kImage, 7);
  // fc after a [N, C, H, W] input gets a Flatten of its own, so the torch indices match.
  const char* kinds[] = {"conv2d",      "batchnorm2d", "relu",      "maxpool2d", "conv2d",
                         "batchnorm2d", "leakyrelu",   "avgpool2d", "dropout",   "flatten",
                         "linear",      "batchnorm1d", "tanh",      "flatten",   "linear"};
  ASSERT_EQ(model.size(), 14u);
  for (std::size_t i = 0; i < 13; ++i) EXPECT_EQ(model.layer(i).kind(), kinds[i]) << i;
  EXPECT_EQ(model.layer(13).kind(), "linear");
  EXPECT_EQ(model.output_shape(Shape{5, 1, 28, 28}), (Shape{5, 7}));
  // 28 → pool 14 → conv stride 2: (14 − 3)/2 + 1 = 6 → avgpool 3: 16·3·3 = 144 features.
  EXPECT_EQ(dynamic_cast<Linear&>(model.layer(10)).in_features(), 144u);
  EXPECT_EQ(dynamic_cast<Conv2D&>(model.layer(4)).in_channels(), 8u);
}

TEST(Architecture, ConvolutionsChooseTheirAlgorithm) {
  Sequential model = build_architecture(
      "conv(8,3,pad=2,algo=winograd) relu conv(8,3,algo=direct) relu conv(8,3) fc(classes)", kImage,
      10);
  EXPECT_EQ(dynamic_cast<Conv2D&>(model.layer(0)).algorithm(), ConvAlgorithm::winograd);
  EXPECT_EQ(dynamic_cast<Conv2D&>(model.layer(2)).algorithm(), ConvAlgorithm::direct);
  EXPECT_EQ(dynamic_cast<Conv2D&>(model.layer(4)).algorithm(), ConvAlgorithm::direct);
}

TEST(Architecture, PresetsAreTheDesignsNetworks) {
  Sequential seed = make_preset("seed", kImage, 10);
  ASSERT_EQ(seed.size(), 7u);
  EXPECT_EQ(seed.layer(0).describe(), "Conv2D(1, 3, kernel=5x5, stride=1x1, padding=0x0)");
  EXPECT_EQ(seed.layer(2).describe(), "MaxPool2D(kernel=3x3, stride=2x2, padding=0x0)");
  EXPECT_EQ(seed.layer(4).describe(), "Linear(363, 84)");
  Sequential lenet = make_preset("lenet5", kImage, 10);
  ASSERT_EQ(lenet.size(), 12u);
  EXPECT_EQ(lenet.layer(7).describe(), "Linear(400, 120)");
  for (const auto& name : preset_names()) {
    EXPECT_EQ(make_preset(name, kImage, 3).output_shape(Shape{2, 1, 28, 28}), (Shape{2, 3}))
        << name;
  }
}

// Colour images (CIFAR-10's 3x32x32, and 3x28x28): every preset builds for 3 channels, its first
// layer takes them, and a training forward and backward give logits of 10 classes and gradients
// that are finite and not all zero for every parameter and for the input.
TEST(Architecture, PresetsTrainOnColourImages) {
  for (const Shape& image : {Shape{3, 32, 32}, Shape{3, 28, 28}}) {
    for (const auto& name : preset_names()) {
      SCOPED_TRACE(name + " on " + image.to_string());
      Sequential model = make_preset(name, image, 10);
      model.initialize(1);
      EXPECT_EQ(dynamic_cast<Conv2D&>(model.layer(0)).in_channels(), 3u);
      const Tensor x =
          testing::random_tensor(Shape{2, image[0], image[1], image[2]}, 5, 0.0f, 1.0f);
      const Tensor& logits = model.forward(x, /*training=*/true);
      ASSERT_EQ(logits.shape(), (Shape{2, 10}));
      for (std::size_t i = 0; i < logits.size(); ++i) ASSERT_TRUE(std::isfinite(logits[i])) << i;
      const Tensor dlogits = testing::random_tensor(logits.shape(), 6);
      Tensor input_grad;
      model.backward(dlogits, input_grad);
      ASSERT_EQ(input_grad.shape(), x.shape());
      const auto finite_and_not_zero = [](const Tensor& t) {
        bool any = false;
        for (std::size_t i = 0; i < t.size(); ++i) {
          if (!std::isfinite(t[i])) return false;
          any = any || t[i] != 0.0f;
        }
        return any;
      };
      EXPECT_TRUE(finite_and_not_zero(input_grad));
      // Every channel of the input gets a gradient: the colour reaches the loss.
      const std::size_t plane = image[1] * image[2];
      for (std::size_t c = 0; c < 3; ++c) {
        Tensor channel(Shape{plane});
        std::copy(input_grad.data() + c * plane, input_grad.data() + (c + 1) * plane,
                  channel.data());
        EXPECT_TRUE(finite_and_not_zero(channel)) << "channel " << c;
      }
      for (const Parameter& p : model.parameters()) {
        EXPECT_TRUE(finite_and_not_zero(*p.grad)) << p.name;
      }
    }
  }
}

TEST(Architecture, CommentsNewLinesCommasAndAliases) {
  Sequential model = build_architecture(
      "# a short network\nconv(4, 5), batchnorm, lrelu\n  globalavgpool   # 4 features\n"
      "linear(out=classes, init=glorot)",
      kImage, 10);
  ASSERT_EQ(model.size(), 6u);
  EXPECT_EQ(model.layer(1).kind(), "batchnorm2d");
  EXPECT_EQ(model.layer(3).kind(), "globalavgpool2d");
  EXPECT_EQ(dynamic_cast<Linear&>(model.layer(5)).weight_init(), WeightInit::glorot);
}

TEST(Architecture, ErrorsGiveLineColumnAndCaret) {
  const std::string message = error_of("conv(8,3) relu\n  maxpool(2) frobnicate fc(10)");
  EXPECT_TRUE(contains(message, "line 2, column 14"));
  EXPECT_TRUE(contains(message, "unknown layer 'frobnicate'"));
  EXPECT_TRUE(contains(message, "known: conv, fc"));
  EXPECT_TRUE(contains(message, "\n    maxpool(2) frobnicate fc(10)\n               ^"));
}

TEST(Architecture, ShapesThatDoNotFitAreNamed) {
  std::string message = error_of("conv(8,5) maxpool(2) conv(8,5) maxpool(2) conv(8,9) fc(10)");
  EXPECT_TRUE(contains(message, "column 43"));
  EXPECT_TRUE(contains(message, "'conv(8,9)' does not fit its input [N, 8, 4, 4]"));
  message = error_of("fc(64) conv(8,3) fc(10)");
  EXPECT_TRUE(contains(message, "conv needs an input [N, C, H, W], but gets [N, 64]"));
  message = error_of("conv(8,3) relu");
  EXPECT_TRUE(contains(message, "ends with output [N, 8, 26, 26], expected [N, 10]"));
  message = error_of("conv(8,3) fc(12)", 10);
  EXPECT_TRUE(contains(message, "expected [N, 10]"));
  message = error_of("fc(32) bn maxpool(2) fc(10)");
  EXPECT_TRUE(contains(message, "maxpool needs an input [N, C, H, W], but gets [N, 32]"));
}

TEST(Architecture, MalformedTextIsRejected) {
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {"", "has no layers"},
      {"   # only a comment", "has no layers"},
      {"conv(8,3", "'(' is never closed"},
      {"conv(8,3 relu fc(10)", "expected ',' or ')'"},
      {"conv(8,,3) fc(10)", "expected a value, found ','"},
      {"conv() fc(10)", "conv needs 'out'"},
      {"conv(8) fc(10)", "conv needs 'kernel'"},
      {"conv(8,3,1,0,1) fc(10)", "at most 4 positional values"},
      {"relu(2) fc(10)", "relu takes no arguments"},
      {"conv(8,3,size=2) fc(10)", "conv has no argument 'size'"},
      {"conv(8,3,out=4) fc(10)", "'out' is given twice"},
      {"conv(out=8,3) fc(10)", "a positional value after key=value"},
      {"conv(eight,3) fc(10)", "must be an integer from 1"},
      {"conv(0,3) fc(10)", "must be an integer from 1"},
      {"conv(8,3,pad=-1) fc(10)", "must be an integer from 0"},
      {"conv(8,3,init=magic) fc(10)", "init must be auto, he, lecun or glorot"},
      {"conv(8,3,algo=fft) fc(10)", "algo must be direct or winograd, got 'fft'"},
      {"conv(8,5,algo=winograd) fc(10)", "algo=winograd needs kernel 3, stride 1 and pad at most"},
      {"conv(8,3,stride=2,algo=winograd) fc(10)", "got kernel 3, stride 2 and pad 0"},
      {"conv(8,3,pad=3,algo=winograd) fc(10)", "got kernel 3, stride 1 and pad 3"},
      {"dropout(1.5) fc(10)", "'p' must be a number in [0, 1)"},
      {"dropout(abc) fc(10)", "'p' must be a number"},
      {"bn fc(10)", "does not fit"},  // bn before anything: [N, 1, 28, 28] is fine, so check below
      {"conv(8,3) ) fc(10)", "expected a layer name, found ')'"},
      {"conv(8,3) fc(10),", "a ',' must be followed by a layer"},
      {"maxpool(2,pad=2) fc(10)", "padding must be at most half the kernel size"},
      {"conv(8,30) fc(10)", "does not fit its input [N, 1, 28, 28]"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    if (std::string(c.text) == "bn fc(10)") {
      EXPECT_NO_THROW(build_architecture(c.text, kImage, 10));
      continue;
    }
    const std::string message = error_of(c.text);
    EXPECT_TRUE(contains(message, c.expected)) << message;
    EXPECT_TRUE(contains(message, "architecture, line 1, column ")) << message;
  }
}

// A few bytes of text (in a model file, say) must not make the program allocate gigabytes: the
// bound is checked before a layer's weights exist, and names the layer.
TEST(Architecture, NetworksTooLargeToBuildAreRefused) {
  std::string message = error_of("conv(100000,100) fc(10)");
  EXPECT_TRUE(contains(message, "more than 50000000 weights with 'conv(100000,100)'")) << message;
  message = error_of("fc(60000) fc(60000) fc(10)");
  EXPECT_TRUE(contains(message, "column 11")) << message;
  EXPECT_TRUE(contains(message, "more than 50000000 weights")) << message;
  message = error_of("conv(30000,1) fc(10)");
  EXPECT_TRUE(contains(message, "outputs [N, 30000, 28, 28], more than 16777216 values per image"))
      << message;
  // Just inside both bounds: builds.
  EXPECT_NO_THROW(build_architecture("conv(20000,1) maxpool(28) fc(2)", kImage, 2));
}

TEST(Architecture, ClassesAreChecked) {
  EXPECT_TRUE(contains(error_of("fc(classes)", 1), "at least 2 classes"));
  EXPECT_THROW(build_architecture("fc(classes)", Shape{28, 28}, 10), ShapeError);
}

}  // namespace
}  // namespace cnn
