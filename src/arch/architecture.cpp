#include "cnn/arch/architecture.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>

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

namespace cnn {

namespace {

// Bounds on what a text may ask for, so that a few bytes of a model file or a checkpoint cannot
// make the program allocate gigabytes: far above any network this library trains in minutes
// (the largest preset has 0.3 million parameters and 18,816 values per image).
constexpr double kMaxParameters = 50e6;          // 200 MB of weights, 4 times that to train
constexpr double kMaxValuesPerImage = 16777216;  // 64 MB per image in one layer's output

// What each layer accepts: positional names in order, and which of them are required.
struct LayerSpec {
  std::string name;
  std::vector<std::string> arguments;  // allowed names; the first `required` may be positional
  std::size_t required;
  std::size_t positional;  // how many may be given without a key
};

const std::vector<LayerSpec>& layer_specs() {
  static const std::vector<LayerSpec> specs = {
      {"conv", {"out", "kernel", "stride", "pad", "init"}, 2, 4},
      {"fc", {"out", "init"}, 1, 1},
      {"maxpool", {"kernel", "stride", "pad"}, 1, 3},
      {"avgpool", {"kernel", "stride", "pad"}, 1, 3},
      {"gap", {}, 0, 0},
      {"bn", {"eps", "momentum"}, 0, 2},
      {"dropout", {"p"}, 0, 1},
      {"relu", {}, 0, 0},
      {"tanh", {}, 0, 0},
      {"sigmoid", {}, 0, 0},
      {"leakyrelu", {"slope"}, 0, 1},
      {"flatten", {}, 0, 0},
  };
  return specs;
}

std::string canonical_name(const std::string& name) {
  static const std::map<std::string, std::string> aliases = {
      {"linear", "fc"}, {"globalavgpool", "gap"}, {"batchnorm", "bn"}, {"lrelu", "leakyrelu"}};
  const auto it = aliases.find(name);
  return it == aliases.end() ? name : it->second;
}

struct Argument {
  std::string key;  // empty: positional
  std::string value;
  std::size_t position;
};

struct LayerText {
  std::string name;
  std::size_t position;  // offset of the name
  std::size_t end;       // offset after the closing parenthesis (or the name)
  std::vector<Argument> arguments;
};

class Parser {
 public:
  Parser(const std::string& text, Shape image, std::size_t classes)
      : text_(text), image_(image), classes_(classes) {}

  Sequential build() {
    const std::vector<LayerText> layers = parse();
    if (layers.empty()) fail(0, "the architecture has no layers");
    Sequential model;
    Shape shape{1, image_[0], image_[1], image_[2]};
    for (const LayerText& layer : layers) shape = add(model, layer, shape);
    if (shape.rank() != 2 || shape[1] != classes_) {
      fail(text_.size(), "the network ends with output " + batch_shape(shape) + ", expected [N, " +
                             std::to_string(classes_) +
                             "] (one value per class): end with fc(classes)");
    }
    return model;
  }

  [[noreturn]] void fail(std::size_t offset, const std::string& problem) const {
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

 private:
  static std::string batch_shape(const Shape& shape) {
    std::string text = "[N";
    for (std::size_t i = 1; i < shape.rank(); ++i) text += ", " + std::to_string(shape[i]);
    return text + "]";
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

  static bool word_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-' ||
           c == '+';
  }

  std::string word() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && word_char(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  std::vector<LayerText> parse() {
    std::vector<LayerText> layers;
    skip_space();
    while (pos_ < text_.size()) {
      LayerText layer;
      layer.position = pos_;
      if (std::isalpha(static_cast<unsigned char>(text_[pos_])) == 0) {
        fail(pos_, std::string("expected a layer name, found '") + text_[pos_] + "'");
      }
      layer.name = word();
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == '(') {
        const std::size_t open = pos_++;
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == ')') {
          ++pos_;
        } else {
          while (true) {
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
              if (pos_ >= text_.size()) fail(open, "'(' is never closed");
              fail(pos_, std::string("expected a value, found '") + text_[pos_] + "'");
            }
            argument.value = first;
            layer.arguments.push_back(argument);
            if (pos_ >= text_.size()) fail(open, "'(' is never closed");
            if (text_[pos_] == ',') {
              ++pos_;
              continue;
            }
            if (text_[pos_] == ')') {
              ++pos_;
              break;
            }
            fail(pos_, std::string("expected ',' or ')', found '") + text_[pos_] + "'");
          }
        }
      }
      layer.end = pos_;
      layers.push_back(layer);
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ',') {  // optional comma between layers
        ++pos_;
        skip_space();
        if (pos_ >= text_.size()) fail(pos_ - 1, "a ',' must be followed by a layer");
      }
    }
    return layers;
  }

  // The arguments of a layer by name, checked against its spec.
  std::map<std::string, const Argument*> bind(const LayerText& layer, const LayerSpec& spec) {
    std::map<std::string, const Argument*> bound;
    std::size_t next_positional = 0;
    bool seen_key = false;
    for (const Argument& a : layer.arguments) {
      std::string key = a.key;
      if (key.empty()) {
        if (seen_key) fail(a.position, "a positional value after key=value arguments");
        if (next_positional >= spec.positional) {
          fail(a.position, layer.name + " takes " +
                               (spec.positional == 0
                                    ? std::string("no arguments")
                                    : "at most " + std::to_string(spec.positional) +
                                          " positional value" + (spec.positional == 1 ? "" : "s")) +
                               usage(spec));
        }
        key = spec.arguments[next_positional++];
      } else {
        seen_key = true;
        bool known = false;
        for (const auto& name : spec.arguments) known = known || name == key;
        if (!known) fail(a.position, layer.name + " has no argument '" + key + "'" + usage(spec));
      }
      if (bound.count(key) != 0) fail(a.position, "'" + key + "' is given twice");
      bound[key] = &a;
    }
    for (std::size_t i = 0; i < spec.required; ++i) {
      if (bound.count(spec.arguments[i]) == 0) {
        fail(layer.position, layer.name + " needs '" + spec.arguments[i] + "'" + usage(spec));
      }
    }
    return bound;
  }

  static std::string usage(const LayerSpec& spec) {
    if (spec.arguments.empty()) return " (usage: " + spec.name + ")";
    std::string text = " (usage: " + spec.name + "(";
    for (std::size_t i = 0; i < spec.arguments.size(); ++i) {
      if (i > 0) text += ", ";
      text += i < spec.required ? spec.arguments[i] : spec.arguments[i] + "=..";
    }
    return text + "))";
  }

  std::size_t integer(const Argument& a, std::size_t minimum) const {
    if (a.value == "classes") return classes_;
    std::size_t value = 0;
    const auto [end, ec] = std::from_chars(a.value.data(), a.value.data() + a.value.size(), value);
    if (ec != std::errc() || end != a.value.data() + a.value.size() || value < minimum ||
        value > 100000) {
      fail(a.position, "'" + (a.key.empty() ? std::string("value") : a.key) +
                           "' must be an integer from " + std::to_string(minimum) +
                           " to 100000 (or 'classes'), got '" + a.value + "'");
    }
    return value;
  }

  double real(const Argument& a, const std::string& key, double low, double high, bool open_low,
              bool open_high) const {
    double value = 0;
    std::size_t used = 0;
    try {
      value = std::stod(a.value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    const bool ok = used == a.value.size() && used > 0 && std::isfinite(value) &&
                    (open_low ? value > low : value >= low) &&
                    (open_high ? value < high : value <= high);
    if (!ok) {
      fail(a.position, "'" + key + "' must be a number in " + (open_low ? "(" : "[") + number(low) +
                           ", " + number(high) + (open_high ? ")" : "]") + ", got '" + a.value +
                           "'");
    }
    return value;
  }

  static std::string number(double v) {
    std::string s = std::to_string(v);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }

  WeightInit init(const Argument* a) const {
    if (a == nullptr || a->value == "auto") return WeightInit::automatic;
    if (a->value == "he") return WeightInit::he;
    if (a->value == "lecun") return WeightInit::lecun;
    if (a->value == "glorot" || a->value == "xavier") return WeightInit::glorot;
    fail(a->position, "init must be auto, he, lecun or glorot, got '" + a->value + "'");
  }

  Shape add(Sequential& model, const LayerText& layer, const Shape& input) {
    const std::string name = canonical_name(layer.name);
    const LayerSpec* spec = nullptr;
    for (const LayerSpec& s : layer_specs()) {
      if (s.name == name) spec = &s;
    }
    if (spec == nullptr) {
      std::string known;
      for (const auto& n : architecture_layer_names()) known += (known.empty() ? "" : ", ") + n;
      fail(layer.position, "unknown layer '" + layer.name + "' (known: " + known + ")");
    }
    const auto args = bind(layer, *spec);
    const auto get = [&](const std::string& key) -> const Argument* {
      const auto it = args.find(key);
      return it == args.end() ? nullptr : it->second;
    };
    const auto int_or = [&](const std::string& key, std::size_t fallback, std::size_t minimum) {
      const Argument* a = get(key);
      return a == nullptr ? fallback : integer(*a, minimum);
    };
    const auto real_or = [&](const std::string& key, double fallback, double low, double high,
                             bool open_low, bool open_high) {
      const Argument* a = get(key);
      return a == nullptr ? fallback : real(*a, key, low, high, open_low, open_high);
    };
    const auto need_image = [&](const char* what) {
      if (input.rank() != 4) {
        fail(layer.position,
             std::string(what) + " needs an input [N, C, H, W], but gets " + batch_shape(input));
      }
    };

    std::unique_ptr<Layer> made;
    try {
      if (name == "conv") {
        need_image("conv");
        const std::size_t out = int_or("out", 1, 1), kernel = int_or("kernel", 1, 1);
        count_parameters(layer, static_cast<double>(input[1]) * static_cast<double>(out) *
                                    static_cast<double>(kernel) * static_cast<double>(kernel));
        auto conv = std::make_unique<Conv2D>(input[1], out, kernel, int_or("stride", 1, 1),
                                             int_or("pad", 0, 0));
        conv->set_weight_init(init(get("init")));
        made = std::move(conv);
      } else if (name == "fc") {
        Shape in = input;
        if (in.rank() != 2) {  // flatten first, as a layer of its own (torch.nn.Flatten)
          made = std::make_unique<Flatten>();
          in = checked(*made, layer, input);
          model.add(std::move(made));
        }
        const std::size_t features = int_or("out", 1, 1);
        count_parameters(layer, static_cast<double>(in[1]) * static_cast<double>(features));
        auto linear = std::make_unique<Linear>(in[1], features);
        linear->set_weight_init(init(get("init")));
        made = std::move(linear);
        const Shape out = checked(*made, layer, in);
        model.add(std::move(made));
        return out;
      } else if (name == "maxpool" || name == "avgpool") {
        need_image(name.c_str());
        const std::size_t kernel = int_or("kernel", 1, 1);
        const std::size_t stride = int_or("stride", kernel, 1);
        const std::size_t pad = int_or("pad", 0, 0);
        if (name == "maxpool") {
          made = std::make_unique<MaxPool2D>(kernel, stride, pad);
        } else {
          made = std::make_unique<AvgPool2D>(kernel, stride, pad);
        }
      } else if (name == "gap") {
        need_image("gap");
        made = std::make_unique<GlobalAvgPool2D>();
      } else if (name == "bn") {
        if (input.rank() != 4 && input.rank() != 2) {
          fail(layer.position,
               "bn needs an input [N, C, H, W] or [N, C], but gets " + batch_shape(input));
        }
        made = std::make_unique<BatchNorm>(input[1], input.rank() == 4 ? 2 : 1,
                                           real_or("eps", 1e-5, 0, 1, true, false),
                                           real_or("momentum", 0.1, 0, 1, false, false));
      } else if (name == "dropout") {
        made = std::make_unique<Dropout>(real_or("p", 0.5, 0, 1, false, true));
      } else if (name == "relu") {
        made = std::make_unique<ReLU>();
      } else if (name == "tanh") {
        made = std::make_unique<Tanh>();
      } else if (name == "sigmoid") {
        made = std::make_unique<Sigmoid>();
      } else if (name == "leakyrelu") {
        made = std::make_unique<LeakyReLU>(real_or("slope", 0.01, 0, 1, false, true));
      } else if (name == "flatten") {
        made = std::make_unique<Flatten>();
      }
    } catch (const ArchitectureError&) {
      throw;
    } catch (const std::invalid_argument& e) {  // a constructor's check, ShapeError included
      fail(layer.position, e.what());
    }
    const Shape out = checked(*made, layer, input);
    model.add(std::move(made));
    return out;
  }

  // The layer's output for this input, or an error naming the text, the input shape and why.
  Shape checked(const Layer& made, const LayerText& layer, const Shape& input) const {
    Shape out;
    try {
      out = made.output_shape(input);
    } catch (const ShapeError& e) {
      fail(layer.position, "'" + text_.substr(layer.position, layer.end - layer.position) +
                               "' does not fit its input " + batch_shape(input) + ": " + e.what());
    }
    double values = 1;
    for (std::size_t i = 1; i < out.rank(); ++i) values *= static_cast<double>(out[i]);
    if (values > kMaxValuesPerImage) {
      fail(layer.position, "'" + text_.substr(layer.position, layer.end - layer.position) +
                               "' outputs " + batch_shape(out) + ", more than " +
                               number(kMaxValuesPerImage) + " values per image");
    }
    return out;
  }

  // Adds a layer's weights (before they are allocated) to the network's total, within the bound.
  void count_parameters(const LayerText& layer, double weights) {
    parameters_ += weights;
    if (parameters_ > kMaxParameters) {
      fail(layer.position, "the network would have more than " + number(kMaxParameters) +
                               " weights with '" +
                               text_.substr(layer.position, layer.end - layer.position) + "'");
    }
  }

  const std::string& text_;
  Shape image_;
  std::size_t classes_;
  std::size_t pos_ = 0;
  double parameters_ = 0;
};

}  // namespace

ArchitectureError::ArchitectureError(const std::string& message, std::size_t line,
                                     std::size_t column)
    : std::invalid_argument(message), line_(line), column_(column) {}

std::vector<std::string> architecture_layer_names() {
  std::vector<std::string> names;
  for (const LayerSpec& s : layer_specs()) names.push_back(s.name);
  return names;
}

Sequential build_architecture(const std::string& text, const Shape& image_shape,
                              std::size_t classes) {
  if (image_shape.rank() != 3) {
    throw ShapeError("build_architecture: expected an image shape [C, H, W], got " +
                     image_shape.to_string());
  }
  Parser parser(text, image_shape, classes);
  if (classes < 2) parser.fail(0, "need at least 2 classes");
  return parser.build();
}

}  // namespace cnn
