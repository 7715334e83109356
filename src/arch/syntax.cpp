#include "arch/syntax.hpp"

#include <algorithm>
#include <cctype>

#include "cnn/arch/architecture.hpp"

namespace cnn::arch {

void ArchitectureText::fail(std::size_t offset, const std::string& problem) const {
  std::size_t line = 1, line_start = 0;
  for (std::size_t i = 0; i < offset && i < text_.size(); ++i) {
    if (text_[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  const std::size_t line_end = std::min(text_.find('\n', line_start), text_.size());
  const std::size_t column = offset - line_start + 1;
  std::string message = "architecture, line " + std::to_string(line) + ", column " +
                        std::to_string(column) + ": " + problem + "\n  " +
                        text_.substr(line_start, line_end - line_start) + "\n  " +
                        std::string(column - 1, ' ') + "^";
  throw ArchitectureError(message, line, column);
}

namespace {

// A reader that walks the text once, left to right.
class Reader {
 public:
  explicit Reader(const ArchitectureText& text) : source_(text), text_(text.text()) {}

  std::vector<LayerText> layers() {
    std::vector<LayerText> layers;
    skip_space();
    while (pos_ < text_.size()) {
      layers.push_back(layer());
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ',') {  // optional comma between layers
        ++pos_;
        skip_space();
        if (pos_ >= text_.size()) source_.fail(pos_ - 1, "a ',' must be followed by a layer");
      }
    }
    return layers;
  }

 private:
  // A name and, when a parenthesis follows, its arguments.
  LayerText layer() {
    LayerText layer;
    layer.position = pos_;
    if (std::isalpha(static_cast<unsigned char>(text_[pos_])) == 0) {
      source_.fail(pos_, std::string("expected a layer name, found '") + text_[pos_] + "'");
    }
    layer.name = word();
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == '(') {
      const std::size_t open = pos_++;
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ')') {
        ++pos_;
      } else {
        arguments(open, layer.arguments);
      }
    }
    layer.end = pos_;
    return layer;
  }

  // The arguments after the '(' at offset open, up to and including the ')'.
  void arguments(std::size_t open, std::vector<Argument>& arguments) {
    while (true) {
      arguments.push_back(argument(open));
      if (pos_ >= text_.size()) source_.fail(open, "'(' is never closed");
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (text_[pos_] == ')') {
        ++pos_;
        return;
      }
      source_.fail(pos_, std::string("expected ',' or ')', found '") + text_[pos_] + "'");
    }
  }

  // "value" or "key=value", with the white space around it.
  Argument argument(std::size_t open) {
    skip_space();
    Argument argument;
    argument.position = pos_;
    std::string first = word();
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == '=') {
      ++pos_;
      skip_space();
      argument.key = first;
      argument.position = pos_;
      first = word();
      skip_space();
    }
    if (first.empty()) {
      if (pos_ >= text_.size()) source_.fail(open, "'(' is never closed");
      source_.fail(pos_, std::string("expected a value, found '") + text_[pos_] + "'");
    }
    argument.value = first;
    return argument;
  }

  void skip_space() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else if (std::isspace(static_cast<unsigned char>(c)) != 0) {
        ++pos_;
      } else {
        break;
      }
    }
  }

  // Names, keys and values: letters, digits and the characters of numbers ("1e-5", "+2").
  static bool word_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-' ||
           c == '+';
  }

  std::string word() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && word_char(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  const ArchitectureText& source_;
  const std::string& text_;
  std::size_t pos_ = 0;
};

}  // namespace

std::vector<LayerText> parse_layers(const ArchitectureText& text) {
  return Reader(text).layers();
}

}  // namespace cnn::arch
