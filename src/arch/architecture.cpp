// The architecture language in three parts: syntax.hpp splits the text into layers and points
// at mistakes; layer_catalogue.hpp knows every layer kind; layer_builder.hpp binds each layer's
// arguments, infers its input shape and keeps the network within the size bounds.
#include "cnn/arch/architecture.hpp"

#include "arch/layer_builder.hpp"
#include "arch/layer_catalogue.hpp"
#include "arch/syntax.hpp"

namespace cnn {

ArchitectureError::ArchitectureError(const std::string& message, std::size_t line,
                                     std::size_t column)
    : std::invalid_argument(message), line_(line), column_(column) {}

std::vector<std::string> architecture_layer_names() {
  std::vector<std::string> names;
  for (const arch::LayerKind& kind : arch::layer_catalogue()) names.push_back(kind.name);
  return names;
}

Sequential build_architecture(const std::string& text, const Shape& image_shape,
                              std::size_t classes) {
  if (image_shape.rank() != 3) {
    throw ShapeError("build_architecture: expected an image shape [C, H, W], got " +
                     image_shape.to_string());
  }
  const arch::ArchitectureText source(text);
  if (classes < 2) source.fail(0, "need at least 2 classes");
  const std::vector<arch::LayerText> layers = arch::parse_layers(source);
  if (layers.empty()) source.fail(0, "the architecture has no layers");
  arch::NetworkInProgress network;
  network.shape = Shape{1, image_shape[0], image_shape[1], image_shape[2]};
  network.classes = classes;
  for (const arch::LayerText& layer : layers) arch::add_layer(source, layer, network);
  const Shape& out = network.shape;
  if (out.rank() != 2 || out[1] != classes) {
    source.fail(text.size(), "the network ends with output " +
                                 arch::LayerBuilder::batch_shape(out) + ", expected [N, " +
                                 std::to_string(classes) +
                                 "] (one value per class): end with fc(classes)");
  }
  return std::move(network.model);
}

}  // namespace cnn
