// ONNX export: a trained network as an ONNX model (opset 13, IR version 7) for ONNX Runtime,
// OpenCV's dnn and the other runtimes people deploy with (README, "Export to ONNX").
//
// The graph:
//   input   "input": float32 [N, C, H, W], N dynamic (dim_param "N"): the RAW pixel values
//           0..255 of the images, as prepared for the model (the same size and channels; for a
//           digit model, prepared as MNIST's digits were, see Preparation). The model's input
//           normalisation is the graph's first nodes (Div by 255, then Sub mean and Div std per
//           channel for standard; none adds no node), computed exactly as the library computes
//           it, so a deployer cannot forget it or apply another one.
//   output  "logits": float32 [N, classes], the network's raw outputs, as `cnn eval
//           --predictions-out` writes them and PyTorch's model returns them: the arg-max is the
//           class, Softmax of them the probabilities (the library trains on them through
//           softmax cross-entropy and never had a softmax layer).
//   nodes   one per layer, in order, named "<layer index>_<kind>"; their weights are initializers
//           with the model file's (PyTorch state_dict) names: "0.weight", "1.running_mean", ...
//           conv → Conv (kernel, strides, pads), maxpool → MaxPool (padding never wins, as ours),
//           avgpool → AveragePool (count_include_pad=1: padding counts as zeros, as ours), gap →
//           GlobalAveragePool, fc → Gemm (transB=1; a Flatten before it when its input is not
//           [N, features]), flatten → Flatten (axis 1), relu, tanh, sigmoid, leakyrelu(alpha) →
//           Relu, Tanh, Sigmoid, LeakyRelu, bn → BatchNormalization in inference form (running
//           statistics, epsilon), dropout → nothing (the identity at inference).
//   metadata_props  the model file's description: format_version, format, preset, architecture,
//           input_shape, classes, class_names (a JSON array), preparation, input_normalization,
//           input_scale, input_mean, input_std (the model file's keys, model_file.hpp), the
//           training settings and results it records, cnn_version (of the program that wrote
//           the model file, or of this one when the file records none), and onnx_input and
//           onnx_output (one line each on what the graph takes and gives).
//   producer_name "cnn", producer_version the exporting program's version.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "cnn/io/model_file.hpp"
#include "cnn/nn/sequential.hpp"

namespace cnn {

inline constexpr std::int64_t kOnnxOpset = 13;
inline constexpr std::int64_t kOnnxIrVersion = 7;
inline constexpr const char* kOnnxInputName = "input";
inline constexpr const char* kOnnxOutputName = "logits";

// A network that cannot be written as ONNX (a layer without an ONNX form, a shape that does not
// fit the recorded input); the message names the layer and the problem.
class OnnxExportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The serialised ONNX ModelProto of the network as described above. info.input ([C, H, W]) and
// info.classes give the graph's shapes; the network must map one to the other. Throws
// OnnxExportError. Deterministic: the same model gives the same bytes. For a cnn::Model
// (cnn/model.hpp): onnx_model_bytes(model.network(), model.info()), from one thread at a time
// (network() is outside the model's lock).
std::string onnx_model_bytes(Sequential& model, const ModelInfo& info);

// Writes onnx_model_bytes to path atomically (a temporary file in the same folder, renamed over
// path), so path holds either what it held before or the whole new model. Throws OnnxExportError:
// the network's problem as above, or one naming path and the reason when it cannot be written
// (a missing folder, no permission, path a folder); path is then untouched.
void export_onnx(Sequential& model, const ModelInfo& info, const std::filesystem::path& path);

}  // namespace cnn
