#include "cnn/arch/presets.hpp"

#include <stdexcept>

#include "cnn/arch/architecture.hpp"

namespace cnn {

namespace {

struct Preset {
  const char* name;
  const char* architecture;
};

// The layer order (and so the indices) matches the equivalent torch.nn.Sequential, which keeps
// parameter names such as "4.weight" interchangeable.
const Preset kPresets[] = {
    // The design's network: 3x3 max-pool with stride 2 (overlapping windows); 363 features on
    // 28x28 images.
    {"seed", "conv(3,5) relu maxpool(3,stride=2) flatten fc(84) relu fc(classes)"},
    // LeNet-5 (LeCun et al. 1998) as it is usually built today: ReLU instead of scaled tanh, max
    // instead of trainable average pooling, full connections between the two convolution layers;
    // padding 2 keeps 28x28 so that the second convolution sees LeNet's 14x14.
    {"lenet5",
     "conv(6,5,pad=2) relu maxpool(2) conv(16,5) relu maxpool(2) flatten fc(120) relu fc(84) "
     "relu fc(classes)"},
    // fast: for the shortest time to 99 % (docs/accuracy.md): LeNet-5's shape with 12 and 24
    // filters and batch normalisation. best: the most accurate network that trains in 10 minutes
    // on two cores, 32 filters of 5x5 then 64 of 3x3, a 256-wide hidden layer and dropout, for
    // long training with augmentation. In both, max-pooling comes right after the convolution:
    // batch normalisation and ReLU then work on a quarter of the values (with a positive scale,
    // normalising and ReLU commute with the max). Both chosen on the validation split.
    {"fast",
     "conv(12,5,pad=2) maxpool(2) bn relu conv(24,5) maxpool(2) bn relu fc(128) bn relu "
     "fc(classes)"},
    {"best",
     "conv(32,5) maxpool(2) bn relu conv(64,3) maxpool(2) bn relu fc(256) bn relu dropout(0.3) "
     "fc(classes)"},
    // vgg: two blocks of two 3x3 convolutions (32, then 64 filters; Simonyan and Zisserman 2015),
    // padded so that each block ends in a 2x2 max-pool of an even size, then best's head. About
    // seven times best's arithmetic per image: for data whose classes differ in texture and detail
    // more than in outline, where best stops near 92.5 % (Fashion-MNIST, docs/accuracy.md).
    // Chosen on Fashion-MNIST's validation split.
    {"vgg",
     "conv(32,3,pad=1) bn relu conv(32,3,pad=1) maxpool(2) bn relu conv(64,3,pad=1) bn relu "
     "conv(64,3,pad=1) maxpool(2) bn relu fc(256) bn relu dropout(0.3) fc(classes)"},
};

}  // namespace

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const Preset& p : kPresets) names.emplace_back(p.name);
  return names;
}

std::string preset_architecture(const std::string& name) {
  for (const Preset& p : kPresets) {
    if (name == p.name) return p.architecture;
  }
  std::string known;
  for (const auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown preset '" + name + "' (known: " + known + ")");
}

Sequential make_preset(const std::string& name, const Shape& image_shape, std::size_t classes) {
  if (image_shape.rank() != 3) {
    throw ShapeError("make_preset: expected an image shape [C, H, W], got " +
                     image_shape.to_string());
  }
  if (classes < 2) throw std::invalid_argument("make_preset: need at least 2 classes");
  return build_architecture(preset_architecture(name), image_shape, classes);
}

}  // namespace cnn
