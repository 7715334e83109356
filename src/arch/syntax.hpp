// The syntax of the architecture language (cnn/arch/architecture.hpp): the text split into
// layers, each a name with its arguments, and the messages that point into the text with a caret.
// What the names and arguments mean is the layer catalogue's (layer_catalogue.hpp) and the
// builder's (layer_builder.hpp).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace cnn::arch {

// One argument as written: "stride=2" (key "stride") or "2" (positional, empty key).
struct Argument {
  std::string key;  // empty: positional
  std::string value;
  std::size_t position;  // offset of the value
};

// One layer as written: "conv(8, 3, pad=1)".
struct LayerText {
  std::string name;
  std::size_t position;  // offset of the name
  std::size_t end;       // offset after the closing parenthesis (or the name)
  std::vector<Argument> arguments;
};

// The text of an architecture, for messages that point into it.
class ArchitectureText {
 public:
  explicit ArchitectureText(const std::string& text) : text_(text) {}

  const std::string& text() const { return text_; }
  // The layer as written, "conv(8,3)", for messages.
  std::string excerpt(const LayerText& layer) const {
    return text_.substr(layer.position, layer.end - layer.position);
  }
  // Throws ArchitectureError "architecture, line L, column C: <problem>" followed by the line of
  // text and a caret under the offset.
  [[noreturn]] void fail(std::size_t offset, const std::string& problem) const;

 private:
  const std::string& text_;
};

// The layers of the text in order. Layers are separated by white space, new lines or one comma;
// '#' starts a comment to the end of the line. Throws ArchitectureError for text that is not a
// list of layers (a name that does not start with a letter, an unclosed parenthesis, a missing
// value).
std::vector<LayerText> parse_layers(const ArchitectureText& text);

}  // namespace cnn::arch
