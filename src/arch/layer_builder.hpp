// Building a network from parsed text (syntax.hpp) with the layer catalogue
// (layer_catalogue.hpp): each layer's arguments are bound to the names of its row and read as
// numbers, its input shape is the output of the layers before it, and the whole stays within the
// bounds below, so that a few bytes of a model file cannot make the program allocate gigabytes.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "arch/layer_catalogue.hpp"
#include "arch/syntax.hpp"
#include "cnn/core/numbers.hpp"
#include "cnn/core/window.hpp"
#include "cnn/nn/sequential.hpp"

namespace cnn::arch {

// The network as it grows, layer by layer.
struct NetworkInProgress {
  Sequential model;
  Shape shape;              // output of the last layer added: [N, ...]
  std::size_t classes = 0;  // what the word `classes` stands for
  double parameters = 0;    // weights of the layers so far, counted before they are allocated
};

// What a catalogue row's builder works with: one layer of the text, its arguments bound to the
// names of its row, and the network it adds to. Every mistake is an ArchitectureError pointing at
// the layer or at the argument.
class LayerBuilder {
 public:
  // Binds the arguments to the row's names; throws for an unknown or repeated name, too many
  // positional values, a positional value after a key, or a required argument missing.
  LayerBuilder(const ArchitectureText& text, const LayerText& layer, const LayerKind& kind,
               NetworkInProgress& network);

  // The shape that reaches the next layer added: [N, C, H, W] or [N, features].
  const Shape& input() const { return network_.shape; }

  // An integer from minimum to 100000, or the word `classes`; fallback when not given.
  std::size_t integer(std::string_view key, std::size_t fallback, std::size_t minimum) const;
  // A finite number in the interval; fallback when not given.
  double real(std::string_view key, double fallback, const Interval& allowed) const;
  // The "init" argument: auto (also when not given), he, lecun, glorot or xavier.
  WeightInit weight_init() const;
  // conv's algo=: direct (the default) or winograd, which needs the kernel, stride and pad given.
  ConvAlgorithm conv_algorithm(std::size_t kernel, std::size_t stride, std::size_t pad) const;

  // Fails unless the input is [N, C, H, W]: "conv needs an input [N, C, H, W], but gets [N, 64]".
  void need_image() const;
  // Adds a layer's weights, before they are allocated, to the network's total, within the bound.
  void count_parameters(double weights);
  // Adds the layer when it fits the input and its output stays within the bound per image.
  void add(std::unique_ptr<Layer> layer);

  // "architecture, line L, column C: <problem>" at the layer's name.
  [[noreturn]] void fail(const std::string& problem) const;
  // [N, 8, 26, 26]
  static std::string batch_shape(const Shape& shape);

 private:
  void bind();
  const Argument* find(std::string_view key) const;
  std::string usage() const;

  const ArchitectureText& text_;
  const LayerText& layer_;
  const LayerKind& kind_;
  NetworkInProgress& network_;
  std::map<std::string, const Argument*, std::less<>> bound_;
};

// Adds what one layer of the text stands for to the network, by its catalogue row. A layer
// constructor's std::invalid_argument becomes an ArchitectureError at the layer's name.
void add_layer(const ArchitectureText& text, const LayerText& layer, NetworkInProgress& network);

}  // namespace cnn::arch
