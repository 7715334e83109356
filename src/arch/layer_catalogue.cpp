#include "arch/layer_catalogue.hpp"

#include <memory>

#include "arch/layer_builder.hpp"
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

namespace cnn::arch {

namespace {

// The builders of the rows below. Each reads its arguments (with their defaults and bounds),
// checks the input shape it needs and adds its layer; input channels and feature counts come from
// the input shape. Where two arguments could both be wrong, the order they are read in decides
// which one the message names, so it stays as it was.

void build_conv(LayerBuilder& b) {
  b.need_image();
  const std::size_t out = b.integer("out", 1, 1), kernel = b.integer("kernel", 1, 1);
  const std::size_t channels = b.input()[1];
  b.count_parameters(static_cast<double>(channels) * static_cast<double>(out) *
                     static_cast<double>(kernel) * static_cast<double>(kernel));
  const std::size_t pad = b.integer("pad", 0, 0), stride = b.integer("stride", 1, 1);
  auto conv = std::make_unique<Conv2D>(channels, out, kernel, stride, pad);
  conv->set_weight_init(b.weight_init());
  conv->set_algorithm(b.conv_algorithm(kernel, stride, pad));
  b.add(std::move(conv));
}

// A [N, C, H, W] input is flattened first, by a layer of its own as torch.nn.Flatten does, so
// that the layer indices (and the parameter names) match the equivalent torch.nn.Sequential.
void build_fc(LayerBuilder& b) {
  if (b.input().rank() != 2) b.add(std::make_unique<Flatten>());
  const std::size_t features = b.integer("out", 1, 1), in = b.input()[1];
  b.count_parameters(static_cast<double>(in) * static_cast<double>(features));
  auto linear = std::make_unique<Linear>(in, features);
  linear->set_weight_init(b.weight_init());
  b.add(std::move(linear));
}

template <class Pool>
void build_pool(LayerBuilder& b) {
  b.need_image();
  const std::size_t kernel = b.integer("kernel", 1, 1);
  const std::size_t stride = b.integer("stride", kernel, 1);
  const std::size_t pad = b.integer("pad", 0, 0);
  b.add(std::make_unique<Pool>(kernel, stride, pad));
}

void build_bn(LayerBuilder& b) {
  const Shape& input = b.input();
  if (input.rank() != 4 && input.rank() != 2) {
    b.fail("bn needs an input [N, C, H, W] or [N, C], but gets " +
           LayerBuilder::batch_shape(input));
  }
  const double momentum = b.real("momentum", 0.1, Interval{0, 1, false, false});
  const double epsilon = b.real("eps", 1e-5, Interval{0, 1, true, false});
  b.add(std::make_unique<BatchNorm>(input[1], input.rank() == 4 ? 2 : 1, epsilon, momentum));
}

void build_gap(LayerBuilder& b) {
  b.need_image();
  b.add(std::make_unique<GlobalAvgPool2D>());
}

void build_dropout(LayerBuilder& b) {
  b.add(std::make_unique<Dropout>(b.real("p", 0.5, Interval{0, 1, false, true})));
}

void build_leaky_relu(LayerBuilder& b) {
  b.add(std::make_unique<LeakyReLU>(b.real("slope", 0.01, Interval{0, 1, false, true})));
}

// A layer without arguments.
template <class L>
void build_plain(LayerBuilder& b) {
  b.add(std::make_unique<L>());
}

}  // namespace

const std::vector<LayerKind>& layer_catalogue() {
  // name, aliases, arguments (positional ones first), required, positional, builder
  static const std::vector<LayerKind> catalogue = {
      {"conv", {}, {"out", "kernel", "stride", "pad", "init", "algo"}, 2, 4, build_conv},
      {"fc", {"linear"}, {"out", "init"}, 1, 1, build_fc},
      {"maxpool", {}, {"kernel", "stride", "pad"}, 1, 3, build_pool<MaxPool2D>},
      {"avgpool", {}, {"kernel", "stride", "pad"}, 1, 3, build_pool<AvgPool2D>},
      {"gap", {"globalavgpool"}, {}, 0, 0, build_gap},
      {"bn", {"batchnorm"}, {"eps", "momentum"}, 0, 2, build_bn},
      {"dropout", {}, {"p"}, 0, 1, build_dropout},
      {"relu", {}, {}, 0, 0, build_plain<ReLU>},
      {"tanh", {}, {}, 0, 0, build_plain<Tanh>},
      {"sigmoid", {}, {}, 0, 0, build_plain<Sigmoid>},
      {"leakyrelu", {"lrelu"}, {"slope"}, 0, 1, build_leaky_relu},
      {"flatten", {}, {}, 0, 0, build_plain<Flatten>},
  };
  return catalogue;
}

const LayerKind* find_layer_kind(std::string_view name) {
  for (const LayerKind& kind : layer_catalogue()) {
    if (kind.name == name) return &kind;
    for (const auto& alias : kind.aliases) {
      if (alias == name) return &kind;
    }
  }
  return nullptr;
}

}  // namespace cnn::arch
