// The architecture language: a network written as text, built without recompiling.
//
//   conv(32,3,pad=1) bn relu conv(32,3,pad=1) bn relu maxpool(2) dropout(0.25) fc(128) relu
//   fc(classes)
//
// Layers are separated by white space (or commas between layers, or new lines; '#' starts a
// comment to the end of the line). Each is a name with optional arguments in parentheses,
// positional first, then key=value. Numbers are decimal; the word `classes` stands for the
// number of classes of the data. Input channels and feature counts are inferred from the shape
// that reaches the layer. The layers (each one row of the layer catalogue in the library's
// sources, src/arch/layer_catalogue.cpp):
//
//   conv(out, kernel, stride=1, pad=0, init=auto, algo=direct)
//                                                   Conv2D; init: auto, he, lecun, glorot;
//                                                   algo: direct, or winograd (kernel 3,
//                                                   stride 1, pad at most 2)
//   fc(out, init=auto)        alias linear           Linear; flattens a [N, C, H, W] input first
//   maxpool(kernel, stride=kernel, pad=0)           MaxPool2D
//   avgpool(kernel, stride=kernel, pad=0)           AvgPool2D (padding counted as zeros)
//   gap                       alias globalavgpool    GlobalAvgPool2D: [N, C, H, W] → [N, C, 1, 1]
//   bn(eps=1e-5, momentum=0.1) alias batchnorm       BatchNorm2d on [N,C,H,W], BatchNorm1d on [N,C]
//   dropout(p=0.5)                                   Dropout (inverted, training only)
//   relu  tanh  sigmoid  leakyrelu(slope=0.01)  flatten
//
// The network must end with `classes` values per image. Every mistake is reported with its
// line and column, the text with a caret under it, and the shapes that do not fit.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "cnn/nn/sequential.hpp"

namespace cnn {

// Text that is not a valid network for the input; what() gives the position, the problem and the
// line of text with a caret under the position.
class ArchitectureError : public std::invalid_argument {
 public:
  ArchitectureError(const std::string& message, std::size_t line, std::size_t column);
  std::size_t line() const { return line_; }
  std::size_t column() const { return column_; }

 private:
  std::size_t line_, column_;
};

// Builds the network the text describes for images [C, H, W] and `classes` outputs (weights not
// yet initialised: call Sequential::initialize). Throws ArchitectureError.
Sequential build_architecture(const std::string& text, const Shape& image_shape,
                              std::size_t classes);

// The layer names the language knows, for help texts.
std::vector<std::string> architecture_layer_names();

}  // namespace cnn
