#include "arch/layer_builder.hpp"

#include <stdexcept>

#include "cnn/arch/architecture.hpp"

namespace cnn::arch {

namespace {

// Bounds on what a text may ask for, so that a few bytes of a model file or a checkpoint cannot
// make the program allocate gigabytes: far above any network this library trains in minutes
// (the largest preset has 0.3 million parameters and 18,816 values per image).
constexpr double kMaxParameters = 50e6;          // 200 MB of weights, 4 times that to train
constexpr double kMaxValuesPerImage = 16777216;  // 64 MB per image in one layer's output
// Bound on every integer argument (channels, kernel sizes, strides, paddings).
constexpr std::size_t kMaxInteger = 100000;

}  // namespace

LayerBuilder::LayerBuilder(const ArchitectureText& text, const LayerText& layer,
                           const LayerKind& kind, NetworkInProgress& network)
    : text_(text), layer_(layer), kind_(kind), network_(network) {
  bind();
}

// Positional values take the row's argument names in order; keys must be among them.
void LayerBuilder::bind() {
  std::size_t next_positional = 0;
  bool seen_key = false;
  for (const Argument& a : layer_.arguments) {
    std::string key = a.key;
    if (key.empty()) {
      if (seen_key) text_.fail(a.position, "a positional value after key=value arguments");
      if (next_positional >= kind_.positional) {
        const std::size_t most = kind_.positional;
        text_.fail(a.position, layer_.name + " takes " +
                                   (most == 0 ? std::string("no arguments")
                                              : "at most " + std::to_string(most) +
                                                    " positional value" + (most == 1 ? "" : "s")) +
                                   usage());
      }
      key = kind_.arguments[next_positional++];
    } else {
      seen_key = true;
      bool known = false;
      for (const auto& name : kind_.arguments) known = known || name == key;
      if (!known) text_.fail(a.position, layer_.name + " has no argument '" + key + "'" + usage());
    }
    if (bound_.count(key) != 0) text_.fail(a.position, "'" + key + "' is given twice");
    bound_[key] = &a;
  }
  for (std::size_t i = 0; i < kind_.required; ++i) {
    if (bound_.count(kind_.arguments[i]) == 0) {
      fail(layer_.name + " needs '" + kind_.arguments[i] + "'" + usage());
    }
  }
}

// " (usage: conv(out, kernel, stride=.., pad=.., init=..))"
std::string LayerBuilder::usage() const {
  if (kind_.arguments.empty()) return " (usage: " + kind_.name + ")";
  std::string text = " (usage: " + kind_.name + "(";
  for (std::size_t i = 0; i < kind_.arguments.size(); ++i) {
    if (i > 0) text += ", ";
    text += i < kind_.required ? kind_.arguments[i] : kind_.arguments[i] + "=..";
  }
  return text + "))";
}

const Argument* LayerBuilder::find(std::string_view key) const {
  const auto it = bound_.find(key);
  return it == bound_.end() ? nullptr : it->second;
}

std::size_t LayerBuilder::integer(std::string_view key, std::size_t fallback,
                                  std::size_t minimum) const {
  const Argument* a = find(key);
  if (a == nullptr) return fallback;
  if (a->value == "classes") return network_.classes;
  const auto value = parse_integer<std::size_t>(a->value);
  if (!value || *value < minimum || *value > kMaxInteger) {
    text_.fail(a->position, "'" + (a->key.empty() ? std::string("value") : a->key) +
                                "' must be an integer from " + std::to_string(minimum) + " to " +
                                std::to_string(kMaxInteger) + " (or 'classes'), got '" + a->value +
                                "'");
  }
  return *value;
}

double LayerBuilder::real(std::string_view key, double fallback, const Interval& allowed) const {
  const Argument* a = find(key);
  if (a == nullptr) return fallback;
  const auto value = parse_finite(a->value);
  if (!value || !allowed.contains(*value)) {
    text_.fail(a->position, "'" + std::string(key) + "' must be a number in " +
                                allowed.to_string() + ", got '" + a->value + "'");
  }
  return *value;
}

WeightInit LayerBuilder::weight_init() const {
  const Argument* a = find("init");
  if (a == nullptr || a->value == "auto") return WeightInit::automatic;
  if (a->value == "he") return WeightInit::he;
  if (a->value == "lecun") return WeightInit::lecun;
  if (a->value == "glorot" || a->value == "xavier") return WeightInit::glorot;
  text_.fail(a->position, "init must be auto, he, lecun or glorot, got '" + a->value + "'");
}

ConvAlgorithm LayerBuilder::conv_algorithm(std::size_t kernel, std::size_t stride,
                                           std::size_t pad) const {
  const Argument* a = find("algo");
  if (a == nullptr || a->value == "direct") return ConvAlgorithm::direct;
  if (a->value != "winograd") {
    text_.fail(a->position, "algo must be direct or winograd, got '" + a->value + "'");
  }
  if (!conv_algorithm_applies(ConvAlgorithm::winograd, kernel, stride, pad)) {
    text_.fail(a->position,
               "algo=winograd needs kernel 3, stride 1 and pad at most 2, got kernel " +
                   std::to_string(kernel) + ", stride " + std::to_string(stride) + " and pad " +
                   std::to_string(pad));
  }
  return ConvAlgorithm::winograd;
}

void LayerBuilder::need_image() const {
  if (input().rank() != 4) {
    fail(kind_.name + " needs an input [N, C, H, W], but gets " + batch_shape(input()));
  }
}

void LayerBuilder::count_parameters(double weights) {
  network_.parameters += weights;
  if (network_.parameters > kMaxParameters) {
    fail("the network would have more than " + plain_number(kMaxParameters) + " weights with '" +
         text_.excerpt(layer_) + "'");
  }
}

void LayerBuilder::add(std::unique_ptr<Layer> layer) {
  Shape out;
  try {
    out = layer->output_shape(input());
  } catch (const ShapeError& e) {
    fail("'" + text_.excerpt(layer_) + "' does not fit its input " + batch_shape(input()) + ": " +
         e.what());
  }
  double values = 1;
  for (std::size_t i = 1; i < out.rank(); ++i) values *= static_cast<double>(out[i]);
  if (values > kMaxValuesPerImage) {
    fail("'" + text_.excerpt(layer_) + "' outputs " + batch_shape(out) + ", more than " +
         plain_number(kMaxValuesPerImage) + " values per image");
  }
  network_.model.add(std::move(layer));
  network_.shape = out;
}

void LayerBuilder::fail(const std::string& problem) const {
  text_.fail(layer_.position, problem);
}

std::string LayerBuilder::batch_shape(const Shape& shape) {
  std::string text = "[N";
  for (std::size_t i = 1; i < shape.rank(); ++i) text += ", " + std::to_string(shape[i]);
  return text + "]";
}

void add_layer(const ArchitectureText& text, const LayerText& layer, NetworkInProgress& network) {
  const LayerKind* kind = find_layer_kind(layer.name);
  if (kind == nullptr) {
    std::string known;
    for (const LayerKind& k : layer_catalogue()) known += (known.empty() ? "" : ", ") + k.name;
    text.fail(layer.position, "unknown layer '" + layer.name + "' (known: " + known + ")");
  }
  LayerBuilder builder(text, layer, *kind, network);
  try {
    kind->build(builder);
  } catch (const ArchitectureError&) {
    throw;
  } catch (const std::invalid_argument& e) {  // a constructor's check, ShapeError included
    builder.fail(e.what());
  }
}

}  // namespace cnn::arch
