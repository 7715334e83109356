// Named network architectures, written in the architecture language (architecture.hpp).
#pragma once

#include <string>
#include <vector>

#include "cnn/nn/sequential.hpp"

namespace cnn {

// Names of the presets, for help texts and error messages.
std::vector<std::string> preset_names();
// The architecture text of a preset; throws std::invalid_argument for an unknown name (listing
// the known ones).
//   seed:   the design's network: conv 3@5x5 → ReLU → max-pool 3x3/2 → FC 84 → ReLU → FC classes
//   lenet5: conv 6@5x5 pad 2 → ReLU → max-pool 2 → conv 16@5x5 → ReLU → max-pool 2 → FC 120 →
//           ReLU → FC 84 → ReLU → FC classes
//   fast:   a small batch-normalised CNN that reaches high accuracy in the fewest seconds
//   best:   the most accurate network of docs/accuracy.md within its time budget
std::string preset_architecture(const std::string& name);
// The network of a preset for inputs [channels, height, width] and `classes` outputs; throws
// std::invalid_argument for an unknown name or an input too small.
Sequential make_preset(const std::string& name, const Shape& image_shape, std::size_t classes);

}  // namespace cnn
