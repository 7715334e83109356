#include "cnn/io/onnx_export.hpp"

#include <onnx.pb.h>

#include <cstddef>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "cnn/core/atomic_file.hpp"
#include "cnn/core/version.hpp"
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
#include "io/model_header.hpp"

namespace cnn {

namespace {

// The graph under construction: nodes appended in order, each taking the current tensor and
// making the next one.
class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto& graph) : graph_(graph) {}

  const std::string& current() const { return current_; }

  // A node of op type `op` on the current tensor and `inputs` after it; its output becomes the
  // current tensor, named after the node.
  onnx::NodeProto& add(const std::string& name, const std::string& op,
                       const std::vector<std::string>& inputs = {}) {
    onnx::NodeProto& node = *graph_.add_node();
    node.set_name(name);
    node.set_op_type(op);
    node.add_input(current_);
    for (const std::string& input : inputs) node.add_input(input);
    current_ = name;
    node.add_output(current_);
    return node;
  }

  // A float32 initializer of the given dims; the values are written little-endian as raw_data
  // (ONNX's layout for it; x86-64 and AArch64 Linux are little-endian, as the model files are).
  void add_initializer(const std::string& name, const std::vector<std::int64_t>& dims,
                       std::span<const float> values) {
    onnx::TensorProto& tensor = *graph_.add_initializer();
    tensor.set_name(name);
    tensor.set_data_type(onnx::TensorProto::FLOAT);
    for (const std::int64_t dim : dims) tensor.add_dims(dim);
    tensor.set_raw_data(values.data(), values.size_bytes());
  }
  void add_initializer(const std::string& name, const Tensor& value) {
    std::vector<std::int64_t> dims;
    for (std::size_t axis = 0; axis < value.shape().rank(); ++axis) {
      dims.push_back(static_cast<std::int64_t>(value.shape()[axis]));
    }
    add_initializer(name, dims, std::span<const float>(value.data(), value.size()));
  }

  // Renames the current tensor (the last node's output) to `name`, or adds an Identity node
  // when no node made it (a network of dropout alone).
  void finish(const std::string& name, const std::string& graph_input) {
    if (current_ == graph_input || graph_.node_size() == 0) {
      add("output_identity", "Identity");
    }
    graph_.mutable_node(graph_.node_size() - 1)->set_output(0, name);
    current_ = name;
  }

 private:
  onnx::GraphProto& graph_;
  std::string current_ = kOnnxInputName;
};

void set_int(onnx::NodeProto& node, const char* name, std::int64_t value) {
  onnx::AttributeProto& attribute = *node.add_attribute();
  attribute.set_name(name);
  attribute.set_type(onnx::AttributeProto::INT);
  attribute.set_i(value);
}

void set_float(onnx::NodeProto& node, const char* name, double value) {
  onnx::AttributeProto& attribute = *node.add_attribute();
  attribute.set_name(name);
  attribute.set_type(onnx::AttributeProto::FLOAT);
  attribute.set_f(static_cast<float>(value));
}

void set_ints(onnx::NodeProto& node, const char* name, const std::vector<std::int64_t>& values) {
  onnx::AttributeProto& attribute = *node.add_attribute();
  attribute.set_name(name);
  attribute.set_type(onnx::AttributeProto::INTS);
  for (const std::int64_t value : values) attribute.add_ints(value);
}

std::int64_t as_int(std::size_t value) {
  return static_cast<std::int64_t>(value);
}

// kernel_shape, strides and pads (the same padding at both ends of each axis, ONNX's order
// [h_begin, w_begin, h_end, w_end]) of a window.
void set_window(onnx::NodeProto& node, Size2 kernel, Size2 stride, Size2 padding) {
  set_ints(node, "kernel_shape", {as_int(kernel.h), as_int(kernel.w)});
  set_ints(node, "strides", {as_int(stride.h), as_int(stride.w)});
  set_ints(node, "pads",
           {as_int(padding.h), as_int(padding.w), as_int(padding.h), as_int(padding.w)});
}

// The type of a graph input or output: float32 with a dynamic first (batch) dimension.
void set_batch_type(onnx::ValueInfoProto& value, const std::string& name,
                    const std::vector<std::size_t>& per_image) {
  value.set_name(name);
  onnx::TypeProto_Tensor& tensor = *value.mutable_type()->mutable_tensor_type();
  tensor.set_elem_type(onnx::TensorProto::FLOAT);
  onnx::TensorShapeProto& shape = *tensor.mutable_shape();
  shape.add_dim()->set_dim_param("N");
  for (const std::size_t dim : per_image) shape.add_dim()->set_dim_value(as_int(dim));
}

// The normalisation of normalization.hpp as nodes on the raw pixels: x = pixel / 255 (the
// division, not a product with 1/255, as the library computes it), then for standard
// (x − mean[c]) / std[c] with [1, C, 1, 1] constants.
void add_normalization(GraphBuilder& graph, const Normalization& normalization,
                       std::size_t channels) {
  if (normalization.kind() == NormalizationKind::none) return;
  const float divisor = 255.0f;
  graph.add_initializer("input_divisor", {}, std::span<const float>(&divisor, 1));
  graph.add("input_scaled", "Div", {"input_divisor"});
  if (normalization.kind() != NormalizationKind::standard) return;
  std::vector<float> mean(channels), stddev(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    mean[c] = normalization.mean(normalization.channels() == 1 ? 0 : c);
    stddev[c] = normalization.stddev(normalization.channels() == 1 ? 0 : c);
  }
  const std::vector<std::int64_t> dims = {1, as_int(channels), 1, 1};
  graph.add_initializer("input_mean", dims, mean);
  graph.add_initializer("input_std", dims, stddev);
  graph.add("input_centred", "Sub", {"input_mean"});
  graph.add("input_normalized", "Div", {"input_std"});
}

// One layer's nodes and initializers. `input` is the layer's input shape (one image, batch 1).
void add_layer(GraphBuilder& graph, Layer& layer, std::size_t index, const Shape& input) {
  const std::string prefix = std::to_string(index);
  const std::string name = prefix + "_" + layer.kind();
  if (auto* conv = dynamic_cast<Conv2D*>(&layer)) {
    graph.add_initializer(prefix + ".weight", conv->weight());
    graph.add_initializer(prefix + ".bias", conv->bias());
    onnx::NodeProto& node = graph.add(name, "Conv", {prefix + ".weight", prefix + ".bias"});
    set_window(node, conv->kernel(), conv->stride(), conv->padding());
    set_ints(node, "dilations", {1, 1});
    set_int(node, "group", 1);
  } else if (auto* max_pool = dynamic_cast<MaxPool2D*>(&layer)) {
    // ONNX's MaxPool ignores padding positions (never the maximum), as MaxPool2D does.
    onnx::NodeProto& node = graph.add(name, "MaxPool");
    set_window(node, max_pool->kernel(), max_pool->stride(), max_pool->padding());
    set_int(node, "ceil_mode", 0);
  } else if (auto* avg_pool = dynamic_cast<AvgPool2D*>(&layer)) {
    onnx::NodeProto& node = graph.add(name, "AveragePool");
    set_window(node, avg_pool->kernel(), avg_pool->stride(), avg_pool->padding());
    set_int(node, "ceil_mode", 0);
    set_int(node, "count_include_pad", 1);  // padding counts as zeros in the mean, as ours
  } else if (dynamic_cast<GlobalAvgPool2D*>(&layer) != nullptr) {
    graph.add(name, "GlobalAveragePool");
  } else if (auto* linear = dynamic_cast<Linear*>(&layer)) {
    if (input.rank() != 2) set_int(graph.add(prefix + "_flatten", "Flatten"), "axis", 1);
    graph.add_initializer(prefix + ".weight", linear->weight());
    graph.add_initializer(prefix + ".bias", linear->bias());
    // y = x·Wᵀ + b with W [out, in] as stored.
    onnx::NodeProto& node = graph.add(name, "Gemm", {prefix + ".weight", prefix + ".bias"});
    set_float(node, "alpha", 1.0);
    set_float(node, "beta", 1.0);
    set_int(node, "transA", 0);
    set_int(node, "transB", 1);
  } else if (dynamic_cast<Flatten*>(&layer) != nullptr) {
    set_int(graph.add(name, "Flatten"), "axis", 1);
  } else if (dynamic_cast<ReLU*>(&layer) != nullptr) {
    graph.add(name, "Relu");
  } else if (dynamic_cast<Tanh*>(&layer) != nullptr) {
    graph.add(name, "Tanh");
  } else if (dynamic_cast<Sigmoid*>(&layer) != nullptr) {
    graph.add(name, "Sigmoid");
  } else if (auto* leaky = dynamic_cast<LeakyReLU*>(&layer)) {
    set_float(graph.add(name, "LeakyRelu"), "alpha", leaky->slope());
  } else if (auto* bn = dynamic_cast<BatchNorm*>(&layer)) {
    // Inference form: y = γ·(x − running_mean)/sqrt(running_var + ε) + β, on [N, C, H, W] and
    // on [N, C] alike (ONNX's BatchNormalization takes any rank from 2).
    for (const Parameter& parameter : bn->parameters()) {
      graph.add_initializer(prefix + "." + parameter.name, *parameter.value);
    }
    for (const Buffer& buffer : bn->buffers()) {
      graph.add_initializer(prefix + "." + buffer.name, *buffer.value);
    }
    onnx::NodeProto& node = graph.add(
        name, "BatchNormalization",
        {prefix + ".weight", prefix + ".bias", prefix + ".running_mean", prefix + ".running_var"});
    set_float(node, "epsilon", bn->epsilon());
    // ONNX's momentum is the weight of the old running value; ours (PyTorch's) of the new one.
    // Unused at inference; recorded for completeness.
    set_float(node, "momentum", 1.0 - bn->momentum());
  } else if (dynamic_cast<Dropout*>(&layer) != nullptr) {
    // The identity at inference: no node.
  } else {
    throw OnnxExportError("layer " + prefix + " (" + layer.describe() +
                          ") has no ONNX form in this exporter");
  }
}

// The batch-norm parameters above must be exactly these four tensors, in any order.
void check_batch_norm_tensors(BatchNorm& bn, std::size_t index) {
  std::vector<std::string> names;
  for (const Parameter& p : bn.parameters()) names.push_back(p.name);
  for (const Buffer& b : bn.buffers()) names.push_back(b.name);
  const std::vector<std::string> expected = {"weight", "bias", "running_mean", "running_var"};
  if (names != expected) {
    throw OnnxExportError("layer " + std::to_string(index) + " (" + bn.describe() +
                          "): unexpected tensors for BatchNormalization");
  }
}

void add_metadata(onnx::ModelProto& onnx_model, const ModelInfo& info) {
  std::map<std::string, std::string> metadata = info.extra;
  if (metadata.find(kVersionKey) == metadata.end()) metadata[kVersionKey] = version();
  try {
    write_model_header(info, kModelFormat, metadata);
  } catch (const StoredModelError& e) {
    throw OnnxExportError(std::string("cannot describe the model: ") + e.what());
  }
  metadata["onnx_input"] =
      std::string(kOnnxInputName) +
      ": float32 [N, C, H, W], raw pixel values 0..255 (the normalisation is in the graph)";
  metadata["onnx_output"] =
      std::string(kOnnxOutputName) +
      ": float32 [N, classes], logits (arg-max: the class; softmax: the probabilities)";
  for (const auto& [key, value] : metadata) {  // std::map: sorted, so the bytes are stable
    onnx::StringStringEntryProto& entry = *onnx_model.add_metadata_props();
    entry.set_key(key);
    entry.set_value(value);
  }
}

}  // namespace

std::string onnx_model_bytes(Sequential& model, const ModelInfo& info) {
  if (info.input.rank() != 3) {
    throw OnnxExportError("the model's input shape " + info.input.to_string() +
                          " is not [C, H, W]");
  }
  const Shape batch{1, info.input[0], info.input[1], info.input[2]};
  Shape output;
  try {
    output = model.output_shape(batch);
  } catch (const std::invalid_argument& e) {
    throw OnnxExportError(std::string("the network does not fit its input: ") + e.what());
  }
  if (output.rank() != 2 || output[1] != info.classes) {
    throw OnnxExportError("the network gives " + output.to_string() + " for one image, not [1, " +
                          std::to_string(info.classes) + "] (one logit per class)");
  }

  onnx::ModelProto onnx_model;
  onnx_model.set_ir_version(kOnnxIrVersion);
  onnx_model.set_producer_name("cnn");
  onnx_model.set_producer_version(version());
  onnx_model.set_doc_string("A convolutional network trained by cnn (preset " + info.preset +
                            "), exported by `cnn export`");
  onnx::OperatorSetIdProto& opset = *onnx_model.add_opset_import();
  opset.set_domain("");  // the default ONNX operator set
  opset.set_version(kOnnxOpset);

  onnx::GraphProto& graph = *onnx_model.mutable_graph();
  graph.set_name(info.preset.empty() ? std::string("cnn") : info.preset);
  set_batch_type(*graph.add_input(), kOnnxInputName, {info.input[0], info.input[1], info.input[2]});
  GraphBuilder builder(graph);
  add_normalization(builder, info.normalization, info.input[0]);
  Shape shape = batch;
  for (std::size_t i = 0; i < model.size(); ++i) {
    Layer& layer = model.layer(i);
    if (auto* bn = dynamic_cast<BatchNorm*>(&layer)) check_batch_norm_tensors(*bn, i);
    add_layer(builder, layer, i, shape);
    shape = layer.output_shape(shape);
  }
  builder.finish(kOnnxOutputName, kOnnxInputName);
  set_batch_type(*graph.add_output(), kOnnxOutputName, {info.classes});
  add_metadata(onnx_model, info);

  std::string bytes;
  // Deterministic: map fields (none here) and unknown fields in a fixed order.
  if (!onnx_model.SerializeToString(&bytes)) {
    throw OnnxExportError("cannot serialise the ONNX model (over protobuf's 2 GB limit?)");
  }
  return bytes;
}

void export_onnx(Sequential& model, const ModelInfo& info, const std::filesystem::path& path) {
  const std::string bytes = onnx_model_bytes(model, info);
  try {
    write_file_atomically(path, {std::as_bytes(std::span<const char>(bytes.data(), bytes.size()))});
  } catch (const FileWriteError& e) {
    throw OnnxExportError(e.what());
  }
}

}  // namespace cnn
