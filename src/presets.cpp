#include "cnn/presets.hpp"

#include <stdexcept>

#include "cnn/conv2d.hpp"
#include "cnn/flatten.hpp"
#include "cnn/linear.hpp"
#include "cnn/max_pool2d.hpp"
#include "cnn/relu.hpp"

namespace cnn {

namespace {

// The design's network. The layer order (and so the indices 0..6) matches the equivalent
// torch.nn.Sequential, which keeps parameter names such as "4.weight" interchangeable.
Sequential make_seed(const Shape& image, std::size_t classes) {
  Sequential model;
  model.emplace<Conv2D>(image[0], 3, 5);         // 0: conv 3@5x5, stride 1, padding 0
  model.emplace<ReLU>();                         // 1
  model.emplace<MaxPool2D>(Size2{3}, Size2{2});  // 2: max-pool 3x3 stride 2
  model.emplace<Flatten>();                      // 3
  const Shape features = model.output_shape(Shape{1, image[0], image[1], image[2]});
  model.emplace<Linear>(features[1], 84);  // 4: FC 84 (363 inputs on 28x28)
  model.emplace<ReLU>();                   // 5
  model.emplace<Linear>(84, classes);      // 6: FC to the classes
  return model;
}

// LeNet-5 (LeCun et al. 1998) as it is usually built today: ReLU instead of scaled tanh, max
// instead of trainable average pooling, full connections between the two convolution layers.
Sequential make_lenet5(const Shape& image, std::size_t classes) {
  Sequential model;
  model.emplace<Conv2D>(image[0], 6, 5, 1, 2);  // 0: 6@5x5, padding 2 keeps 28x28
  model.emplace<ReLU>();                        // 1
  model.emplace<MaxPool2D>(Size2{2});           // 2: 2x2 stride 2 -> 14x14
  model.emplace<Conv2D>(6, 16, 5);              // 3: 16@5x5 -> 10x10
  model.emplace<ReLU>();                        // 4
  model.emplace<MaxPool2D>(Size2{2});           // 5: -> 5x5
  model.emplace<Flatten>();                     // 6: 400 features on 28x28
  const Shape features = model.output_shape(Shape{1, image[0], image[1], image[2]});
  model.emplace<Linear>(features[1], 120);  // 7
  model.emplace<ReLU>();                    // 8
  model.emplace<Linear>(120, 84);           // 9
  model.emplace<ReLU>();                    // 10
  model.emplace<Linear>(84, classes);       // 11
  return model;
}

}  // namespace

std::vector<std::string> preset_names() {
  return {"seed", "lenet5"};
}

Sequential make_preset(const std::string& name, const Shape& image_shape, std::size_t classes) {
  if (image_shape.rank() != 3) {
    throw ShapeError("make_preset: expected an image shape [C, H, W], got " +
                     image_shape.to_string());
  }
  if (classes < 2) throw std::invalid_argument("make_preset: need at least 2 classes");
  if (name == "seed") return make_seed(image_shape, classes);
  if (name == "lenet5") return make_lenet5(image_shape, classes);
  std::string known;
  for (const auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown preset '" + name + "' (known: " + known + ")");
}

}  // namespace cnn
