#include "cnn/nn/sequential.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cnn/arch/presets.hpp"
#include "cnn/nn/layers/avg_pool2d.hpp"
#include "cnn/nn/layers/batch_norm.hpp"
#include "cnn/nn/layers/conv2d.hpp"
#include "cnn/nn/layers/dropout.hpp"
#include "cnn/nn/layers/flatten.hpp"
#include "cnn/nn/layers/leaky_relu.hpp"
#include "cnn/nn/layers/linear.hpp"
#include "cnn/nn/layers/max_pool2d.hpp"
#include "cnn/nn/layers/relu.hpp"
#include "cnn/nn/layers/sigmoid.hpp"
#include "cnn/nn/layers/tanh.hpp"
#include "cnn/nn/softmax_cross_entropy.hpp"
#include "gradient_check.hpp"

namespace cnn {
namespace {

// A small network with every layer kind, stride 2, padding, non-square images, batch 3.
Sequential small_network() {
  Sequential model;
  model.emplace<Conv2D>(2, 4, Size2{3, 3}, 2, 1);  // [3,2,9,7] -> [3,4,5,4]
  model.emplace<ReLU>();
  model.emplace<MaxPool2D>(Size2{2}, Size2{1});  // -> [3,4,4,3]
  model.emplace<Flatten>();                      // -> [3,48]
  model.emplace<Linear>(48, 6);
  model.emplace<ReLU>();
  model.emplace<Linear>(6, 3);
  model.initialize(5);
  return model;
}

TEST(Sequential, EndToEndGradientsMatchCentralDifferences) {
  Sequential model = small_network();
  Tensor x = testing::random_tensor(Shape{3, 2, 9, 7}, 6);
  const std::vector<std::int32_t> labels = {0, 2, 1};
  SoftmaxCrossEntropy criterion;
  Tensor dlogits, dx;
  criterion.forward(model.forward(x, true), labels, dlogits);
  model.backward(dlogits, dx);

  std::vector<Parameter> params = model.parameters();
  ASSERT_EQ(params.size(), 6u);
  std::vector<Tensor> analytic;
  for (const Parameter& p : params) analytic.push_back(*p.grad);
  const auto loss = [&] { return criterion.loss(model.forward(x, true), labels); };
  // ReLU and max-pool kinks make a few elements of a whole network sensitive to the step; a
  // smaller step keeps them away (the loss is computed in double, so the noise stays small).
  const testing::GradCheckOptions options{1e-3, 2e-3, 2e-2};
  EXPECT_TRUE(testing::compare_gradient("dL/dx", x, dx, loss, options));
  for (std::size_t k = 0; k < params.size(); ++k) {
    EXPECT_TRUE(
        testing::compare_gradient(params[k].name, *params[k].value, analytic[k], loss, options));
  }
}

TEST(Sequential, ParametersAreNamedLikePyTorch) {
  Sequential model = make_preset("seed", Shape{1, 28, 28}, 10);
  std::vector<std::string> names;
  for (const Parameter& p : model.parameters()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"0.weight", "0.bias", "4.weight", "4.bias", "6.weight",
                                             "6.bias"}));
  EXPECT_EQ(model.output_shape(Shape{4, 1, 28, 28}), (Shape{4, 10}));
  // 3·25+3 + 363·84+84 + 84·10+10
  EXPECT_EQ(model.parameter_count(), 78u + 30576u + 850u);
}

TEST(Sequential, ParametersAndGradientsLiveInOneBlock) {
  Sequential model = make_preset("lenet5", Shape{1, 28, 28}, 10);
  model.initialize(1);
  const ParameterBlock& block = model.parameter_block();
  ASSERT_GE(block.count(), model.parameter_count());
  std::size_t end = 0;
  for (const Parameter& p : model.parameters()) {
    // In layer order, each on a 64-byte boundary, values and gradients at the same offset.
    const std::size_t offset = static_cast<std::size_t>(p.value->data() - block.values());
    EXPECT_GE(offset, end) << p.name;
    EXPECT_EQ(offset % 16, 0u) << p.name;
    EXPECT_EQ(p.grad->data() - block.gradients(), p.value->data() - block.values()) << p.name;
    EXPECT_TRUE(p.value->is_view() && p.grad->is_view()) << p.name;
    end = offset + p.value->size();
  }
  EXPECT_LE(end, block.count());
  // Moving the model keeps the views valid: the block does not move.
  const float* values = block.values();
  const float first = *model.parameters()[0].value->data();
  Sequential moved = std::move(model);
  EXPECT_EQ(moved.parameter_block().values(), values);
  EXPECT_EQ(moved.parameters()[0].value->data(), values);
  EXPECT_EQ(moved.parameters()[0].value->data()[0], first);
}

TEST(Sequential, AddingALayerKeepsTheWeightsOfTheOthers) {
  Sequential model;
  Linear& first = model.emplace<Linear>(3, 2);
  first.weight()[4] = 1.5f;
  model.emplace<ReLU>();
  Linear& second = model.emplace<Linear>(2, 2);
  EXPECT_EQ(first.weight()[4], 1.5f);
  EXPECT_EQ(first.weight().data(), model.parameter_block().values());
  const ParameterBlock& block = model.parameter_block();
  EXPECT_GE(second.bias().data(), block.values());
  EXPECT_LE(second.bias().data() + second.bias().size(), block.values() + block.count());
}

TEST(Presets, LeNet5HasTheClassicShapes) {
  Sequential model = make_preset("lenet5", Shape{1, 28, 28}, 10);
  EXPECT_EQ(model.size(), 12u);
  EXPECT_EQ(model.output_shape(Shape{2, 1, 28, 28}), (Shape{2, 10}));
  std::vector<std::string> names;
  for (const Parameter& p : model.parameters())
    names.push_back(p.name + p.value->shape().to_string());
  EXPECT_EQ(names, (std::vector<std::string>{
                       "0.weight[6, 1, 5, 5]", "0.bias[6]", "3.weight[16, 6, 5, 5]", "3.bias[16]",
                       "7.weight[120, 400]", "7.bias[120]", "9.weight[84, 120]", "9.bias[84]",
                       "11.weight[10, 84]", "11.bias[10]"}));
  // 156 + 2416 + 48120 + 10164 + 850, the classic 61,706 parameters.
  EXPECT_EQ(model.parameter_count(), 61706u);
}

TEST(Sequential, ShapeErrorNamesTheLayer) {
  Sequential model = make_preset("seed", Shape{1, 28, 28}, 10);
  try {
    model.output_shape(Shape{1, 1, 32, 32});
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("layer 4 (Linear(363, 84))"), std::string::npos)
        << e.what();
  }
}

double standard_deviation(const Tensor& t) {
  double squares = 0;
  for (std::size_t i = 0; i < t.size(); ++i) squares += double{t[i]} * t[i];
  return std::sqrt(squares / static_cast<double>(t.size()));
}

TEST(Sequential, InitialisationGainFollowsTheNextNonlinearity) {
  Sequential model = make_preset("lenet5", Shape{1, 28, 28}, 10);
  model.initialize(7);
  auto params = model.parameters();
  // 7.weight [120, 400] feeds a ReLU: He, sqrt(2/400). 11.weight [10, 84] feeds the softmax:
  // LeCun, sqrt(1/84). 3.weight [16, 6, 5, 5] feeds a ReLU: sqrt(2/150).
  EXPECT_NEAR(standard_deviation(*params[4].value), std::sqrt(2.0 / 400), 0.003);
  EXPECT_NEAR(standard_deviation(*params[8].value), std::sqrt(1.0 / 84), 0.01);
  EXPECT_NEAR(standard_deviation(*params[2].value), std::sqrt(2.0 / 150), 0.006);
}

// Each layer says what it means for the weights before it; the model takes the gain of the first
// layer that is not looked through.
TEST(Sequential, InitRolesOfTheLayers) {
  for (const InitRole role :
       {MaxPool2D(2).init_role(), AvgPool2D(2).init_role(), GlobalAvgPool2D().init_role(),
        Flatten().init_role(), BatchNorm(3, 2).init_role(), Dropout(0.5).init_role()}) {
    EXPECT_TRUE(role.is_looked_through());
  }
  EXPECT_FALSE(ReLU().init_role().is_looked_through());
  EXPECT_EQ(ReLU().init_role().gain(), 2.0);
  EXPECT_EQ(LeakyReLU(0.5).init_role().gain(), 2.0 / 1.25);
  for (const InitRole role : {Linear(2, 3).init_role(), Conv2D(1, 2, 3).init_role(),
                              Tanh().init_role(), Sigmoid().init_role()}) {
    EXPECT_FALSE(role.is_looked_through());
    EXPECT_EQ(role.gain(), 1.0);
  }
}

TEST(Sequential, LeakyReluGainIsSeenThroughBatchNormAndDropout) {
  // Linear(400, 64) → bn → dropout → LeakyReLU(0.5): gain 2 / (1 + 0.25), std sqrt(1.6 / 400).
  Sequential model;
  model.emplace<Linear>(400, 64);
  model.emplace<BatchNorm>(64, 1);
  model.emplace<Dropout>(0.5);
  model.emplace<LeakyReLU>(0.5);
  model.emplace<Linear>(64, 10);
  model.initialize(3);
  auto params = model.parameters();
  EXPECT_NEAR(standard_deviation(*params[0].value), std::sqrt(1.6 / 400), 0.002);
  EXPECT_NEAR(standard_deviation(*params[4].value), std::sqrt(1.0 / 64), 0.01);
}

TEST(Sequential, SameSeedSameWeights) {
  Sequential a = make_preset("seed", Shape{1, 28, 28}, 10);
  Sequential b = make_preset("seed", Shape{1, 28, 28}, 10);
  Sequential c = make_preset("seed", Shape{1, 28, 28}, 10);
  a.initialize(3);
  b.initialize(3);
  c.initialize(4);
  auto pa = a.parameters(), pb = b.parameters(), pc = c.parameters();
  bool any_differs = false;
  for (std::size_t k = 0; k < pa.size(); ++k) {
    for (std::size_t i = 0; i < pa[k].value->size(); ++i) {
      ASSERT_EQ((*pa[k].value)[i], (*pb[k].value)[i]);
      any_differs = any_differs || (*pa[k].value)[i] != (*pc[k].value)[i];
    }
  }
  EXPECT_TRUE(any_differs);
}

// Value k of image n of a batch [N, K].
float value(const Tensor& t, std::size_t n, std::size_t k) {
  return t[n * t.dim(1) + k];
}

// A batch of ones [batch, features]: after dropout, each value shows whether it was kept.
Tensor ones(std::size_t batch, std::size_t features) {
  Tensor x(Shape{batch, features});
  x.fill(1.0f);
  return x;
}

TEST(SequentialImageKeys, AnImagesMasksDependOnItsKeyNotOnTheBatchAroundIt) {
  // What data-parallel training needs: image c gets the same masks in batch [a, b, c] as alone,
  // so a process that holds a share of the batch draws what one process would.
  Sequential model;
  model.emplace<ReLU>();  // the identity on ones; puts the dropout at layer 1
  model.emplace<Dropout>(0.5);
  model.initialize(1);
  const std::vector<std::uint64_t> keys = {image_key(4, 2, 17), image_key(4, 2, 5),
                                           image_key(4, 2, 90)};
  const Tensor whole = model.forward(ones(3, 64), true, keys);
  const Tensor alone = model.forward(ones(1, 64), true, std::span(keys).subspan(2));
  bool c_differs_from_a = false;
  for (std::size_t k = 0; k < 64; ++k) {
    EXPECT_EQ(value(alone, 0, k), value(whole, 2, k)) << k;
    c_differs_from_a = c_differs_from_a || value(whole, 2, k) != value(whole, 0, k);
  }
  EXPECT_TRUE(c_differs_from_a);  // other keys, other masks

  // The same key at another layer index draws another mask.
  Sequential first;
  first.emplace<Dropout>(0.5);
  first.initialize(1);
  const Tensor& at_layer_0 = first.forward(ones(1, 64), true, std::span(keys).subspan(2));
  bool layers_differ = false;
  for (std::size_t k = 0; k < 64; ++k) {
    layers_differ = layers_differ || value(at_layer_0, 0, k) != value(alone, 0, k);
  }
  EXPECT_TRUE(layers_differ);
}

TEST(SequentialImageKeys, TwoDropoutLayersDrawIndependentMasksFromOneImageKey) {
  // Two dropouts of p = 0.5 in a row keep a quarter of the values, each scaled by 4; with the
  // same mask in both they would keep half. 200 · 50 values: 0.25 ± 0.0043, so ± 0.03 is safe.
  Sequential model;
  model.emplace<Dropout>(0.5);
  model.emplace<Dropout>(0.5);
  model.initialize(1);
  std::vector<std::uint64_t> keys(200);
  for (std::size_t n = 0; n < keys.size(); ++n) keys[n] = image_key(1, 1, n);
  const Tensor& y = model.forward(ones(200, 50), true, keys);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (y[i] != 0.0f) {
      ++kept;
      EXPECT_EQ(y[i], 4.0f);
    }
  }
  EXPECT_NEAR(static_cast<double>(kept) / static_cast<double>(y.size()), 0.25, 0.03);
}

TEST(SequentialImageKeys, ForwardsWithoutKeysDifferAndFollowTheSeed) {
  const auto masks = [](std::uint64_t seed) {
    Sequential model;
    model.emplace<Dropout>(0.5);
    model.initialize(seed);
    std::vector<Tensor> outputs;
    for (int call = 0; call < 2; ++call) outputs.push_back(model.forward(ones(4, 32), true));
    return outputs;
  };
  const std::vector<Tensor> a = masks(7), b = masks(7), c = masks(8);
  bool calls_differ = false, seeds_differ = false, images_differ = false;
  for (std::size_t i = 0; i < a[0].size(); ++i) {
    ASSERT_EQ(a[0][i], b[0][i]);
    ASSERT_EQ(a[1][i], b[1][i]);
    calls_differ = calls_differ || a[0][i] != a[1][i];
    seeds_differ = seeds_differ || a[0][i] != c[0][i];
  }
  for (std::size_t k = 0; k < 32; ++k) {
    images_differ = images_differ || value(a[0], 0, k) != value(a[0], 1, k);
  }
  EXPECT_TRUE(calls_differ);
  EXPECT_TRUE(seeds_differ);
  EXPECT_TRUE(images_differ);
}

TEST(SequentialImageKeys, AKeyCountOtherThanTheBatchIsRefusedNamingBoth) {
  Sequential model;
  model.emplace<Dropout>(0.5);
  const std::vector<std::uint64_t> keys = {1, 2};
  try {
    model.forward(ones(3, 8), true, keys);
    FAIL() << "2 keys for 3 images were accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("2 image keys for a batch of 3 images"), std::string::npos)
        << e.what();
  }
  // Inference draws nothing and ignores keys.
  const Tensor& y = model.forward(ones(3, 8), false, keys);
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_EQ(y[i], 1.0f);
}

// ---- a ReLU fused into the max pool after it, in training ------------------------------------

// Whether a and b hold the same shape and the same bits.
::testing::AssertionResult same_bits(const Tensor& a, const Tensor& b) {
  if (!(a.shape() == b.shape())) {
    return ::testing::AssertionFailure()
           << a.shape().to_string() << " vs " << b.shape().to_string();
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::bit_cast<std::uint32_t>(a[i]) != std::bit_cast<std::uint32_t>(b[i])) {
      return ::testing::AssertionFailure() << "element " << i << ": " << a[i] << " vs " << b[i];
    }
  }
  return ::testing::AssertionSuccess();
}

// The logits, the input gradient and every parameter gradient of a training step must be those of
// the layers run one by one, bit for bit: a ReLU first in the chain (fused, its input the
// model's), one before a 2x2/2 pool, one before an overlapping 3x3/2 pool, and one before a linear
// layer (not fused).
TEST(SequentialReluFusion, TrainingGivesTheLayersRunOneByOneBitForBit) {
  Sequential model;
  model.emplace<ReLU>();
  model.emplace<MaxPool2D>(Size2{2});              // [2,2,12,10] -> [2,2,6,5]
  model.emplace<Conv2D>(2, 4, Size2{3, 3}, 1, 1);  // -> [2,4,6,5]
  model.emplace<ReLU>();
  model.emplace<MaxPool2D>(Size2{3}, Size2{2});  // -> [2,4,2,2]
  model.emplace<Flatten>();                      // -> [2,16]
  model.emplace<Linear>(16, 5);
  model.emplace<ReLU>();
  model.emplace<Linear>(5, 3);
  model.initialize(7);
  const Tensor x = testing::random_tensor(Shape{2, 2, 12, 10}, 8);
  const Tensor dlogits = testing::random_tensor(Shape{2, 3}, 9);

  std::vector<Tensor> outputs(model.size());  // outputs[i]: layer i's, each in its own tensor
  const Tensor* in = &x;
  for (std::size_t i = 0; i < model.size(); ++i) {
    outputs[i].resize(model.layer(i).output_shape(in->shape()));
    model.layer(i).forward(*in, outputs[i], true);
    in = &outputs[i];
  }
  std::vector<Tensor> input_grads(model.size());  // input_grads[i]: dL/d(input of layer i)
  const Tensor* dy = &dlogits;
  for (std::size_t i = model.size(); i-- > 0;) {
    const Tensor& layer_input = i == 0 ? x : outputs[i - 1];
    input_grads[i].resize(layer_input.shape());
    model.layer(i).backward(layer_input, outputs[i], *dy, &input_grads[i]);
    dy = &input_grads[i];
  }
  std::vector<Tensor> expected;
  for (const Parameter& p : model.parameters()) expected.push_back(*p.grad);
  for (const Parameter& p : model.parameters()) p.grad->fill(std::nanf(""));

  EXPECT_TRUE(same_bits(model.forward(x, true), outputs.back()));
  Tensor dx;
  model.backward(dlogits, dx);
  EXPECT_TRUE(same_bits(dx, input_grads[0]));
  const std::vector<Parameter> params = model.parameters();
  ASSERT_EQ(params.size(), expected.size());
  for (std::size_t k = 0; k < params.size(); ++k) {
    EXPECT_TRUE(same_bits(*params[k].grad, expected[k])) << params[k].name;
  }
}

// A layer that takes in the ReLU before it, recording which of its functions ran and on what.
class FusingSpy : public Layer {
 public:
  std::string kind() const override { return "spy"; }
  std::string describe() const override { return "Spy()"; }
  InitRole init_role() const override { return InitRole::other(); }
  Shape output_shape(const Shape& input) const override { return input; }
  void forward(const Tensor& x, Tensor& y, bool /*training*/) override {
    calls.push_back("forward");
    inputs.push_back(&x);
    copy(x, y);
  }
  void backward(const Tensor& x, const Tensor& /*y*/, const Tensor& dy, Tensor* dx) override {
    calls.push_back("backward");
    inputs.push_back(&x);
    copy(dy, *dx);
  }
  bool fuses_preceding_relu() const override { return true; }
  void forward_after_relu(const Tensor& x, Tensor& y, bool /*training*/) override {
    calls.push_back("forward_after_relu");
    inputs.push_back(&x);
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
  }
  void backward_after_relu(const Tensor& x, const Tensor& /*y*/, const Tensor& dy,
                           Tensor* dx) override {
    calls.push_back("backward_after_relu");
    inputs.push_back(&x);
    for (std::size_t i = 0; i < x.size(); ++i) (*dx)[i] = x[i] > 0.0f ? dy[i] : 0.0f;
  }

  std::vector<std::string> calls;
  std::vector<const Tensor*> inputs;

 private:
  static void copy(const Tensor& from, Tensor& to) {
    for (std::size_t i = 0; i < from.size(); ++i) to[i] = from[i];
  }
};

TEST(SequentialReluFusion, OnlyTrainingForwardsAndTheirBackwardsFuse) {
  Sequential model;
  model.emplace<Linear>(3, 4);
  model.emplace<ReLU>();
  FusingSpy& spy = model.emplace<FusingSpy>();
  model.emplace<ReLU>();  // last: nothing after it to fuse into
  model.initialize(3);
  const Tensor x = testing::random_tensor(Shape{2, 3}, 4);
  Tensor dy(Shape{2, 4});
  dy.fill(1.0f);

  // Training: the spy reads the linear layer's output itself; the ReLU's gradient is the spy's.
  const Tensor& logits = model.forward(x, true);
  model.backward(dy);
  Tensor relu_then_spy(Shape{2, 4});
  for (std::size_t i = 0; i < relu_then_spy.size(); ++i) {
    const float v = model.activation(0)[i];
    relu_then_spy[i] = v > 0.0f ? v : 0.0f;
  }
  EXPECT_TRUE(same_bits(logits, relu_then_spy));
  // Inference writes every output and calls the layers' own forward; a backward after it does
  // not fuse either.
  model.forward(x, false);
  EXPECT_TRUE(same_bits(model.activation(1), relu_then_spy));
  model.backward(dy);
  const std::vector<std::string> calls = {"forward_after_relu", "backward_after_relu", "forward",
                                          "backward"};
  EXPECT_EQ(spy.calls, calls);
  const std::vector<const Tensor*> inputs = {&model.activation(0), &model.activation(0),
                                             &model.activation(1), &model.activation(1)};
  EXPECT_EQ(spy.inputs, inputs);
}

TEST(Presets, UnknownNameListsTheKnownOnes) {
  try {
    make_preset("lenet9", Shape{1, 28, 28}, 10);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("seed"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cnn
