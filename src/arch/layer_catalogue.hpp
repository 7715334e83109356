// The layer catalogue: one row per layer kind of the architecture language, saying its name (and
// aliases), the arguments it takes and how it is built. The language knows nothing of a layer but
// its row: adding a layer kind is its header and source under nn/layers, its kernels, its test
// and one row in layer_catalogue.cpp (docs/design.md, "Adding a layer").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cnn::arch {

class LayerBuilder;

struct LayerKind {
  std::string name;                        // in the architecture language: "conv"
  std::vector<std::string> aliases;        // other names for it: "linear" for "fc"
  std::vector<std::string> arguments;      // the names it accepts, positional ones first
  std::size_t required = 0;                // the first `required` arguments must be given
  std::size_t positional = 0;              // how many may be given without a key
  void (*build)(LayerBuilder&) = nullptr;  // adds the layer(s) for the bound arguments and the
                                           // shape that reaches them (layer_builder.hpp)
};

// Every kind, in the order help texts and messages list them.
const std::vector<LayerKind>& layer_catalogue();

// The kind a name or an alias stands for; null when none does.
const LayerKind* find_layer_kind(std::string_view name);

}  // namespace cnn::arch
