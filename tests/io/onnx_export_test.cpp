// The ONNX export (cnn/io/onnx_export.hpp), read back with the protobuf classes generated from
// onnx.proto: the graph of a network with every layer type, its attributes, its initializers
// (the model's values bit for bit), the shapes, opset, IR version and metadata; the refusals;
// the atomic write. Whether real runtimes compute the same logits is tests/onnx/'s job. Built
// without ONNX support (CNN_WITH_ONNX unset), the test says so and skips.
#include <gtest/gtest.h>

#ifdef CNN_WITH_ONNX
#include <onnx.pb.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cnn/arch/architecture.hpp"
#include "cnn/io/onnx_export.hpp"

namespace {

namespace fs = std::filesystem;

// Every layer type of the architecture language (as tests/onnx/onnx_clients_test.py's).
const char* const kAllLayers =
    "conv(8,3,stride=2,pad=1) bn leakyrelu(0.1) maxpool(3,stride=2,pad=1) "
    "avgpool(2,stride=1,pad=1) conv(16,3,pad=1) tanh gap flatten fc(32) bn(eps=0.001) sigmoid "
    "dropout(0.2) relu fc(classes)";

struct Network {
  cnn::Sequential model;
  cnn::ModelInfo info;
};

Network all_layers(cnn::Normalization normalization) {
  Network n;
  n.info.preset = "custom";
  n.info.input = cnn::Shape{1, 28, 28};
  n.info.classes = 10;
  n.info.architecture = kAllLayers;
  n.info.class_names = {"zero", "one", "two",   "three", "four",
                        "five", "six", "seven", "eight", "nine"};
  n.info.normalization = std::move(normalization);
  n.info.preparation = cnn::Preparation::digit;
  n.info.extra["optimizer"] = "sgd";
  n.model = cnn::build_architecture(kAllLayers, n.info.input, n.info.classes);
  n.model.initialize(7);
  // Running statistics and biases that are not the initial 0 and 1, so that a mixed-up tensor
  // shows.
  std::mt19937 random(3);
  std::uniform_real_distribution<float> value(0.5f, 1.5f);
  for (const cnn::Parameter& p : n.model.parameters()) {
    for (std::size_t i = 0; i < p.value->size(); ++i) (*p.value)[i] += value(random);
  }
  for (const cnn::Buffer& b : n.model.buffers()) {
    for (std::size_t i = 0; i < b.value->size(); ++i) (*b.value)[i] = value(random);
  }
  return n;
}

onnx::ModelProto parse(const std::string& bytes) {
  onnx::ModelProto model;
  EXPECT_TRUE(model.ParseFromString(bytes));
  return model;
}

const onnx::AttributeProto* attribute(const onnx::NodeProto& node, const std::string& name) {
  for (const onnx::AttributeProto& a : node.attribute()) {
    if (a.name() == name) return &a;
  }
  ADD_FAILURE() << node.name() << " has no attribute " << name;
  return nullptr;
}

std::vector<std::int64_t> ints(const onnx::NodeProto& node, const std::string& name) {
  const onnx::AttributeProto* a = attribute(node, name);
  return a == nullptr ? std::vector<std::int64_t>{}
                      : std::vector<std::int64_t>(a->ints().begin(), a->ints().end());
}

std::map<std::string, std::string> metadata_of(const onnx::ModelProto& model) {
  std::map<std::string, std::string> metadata;
  for (const auto& entry : model.metadata_props()) metadata[entry.key()] = entry.value();
  return metadata;
}

TEST(OnnxExport, EveryLayerTypeBecomesItsOperatorInOrder) {
  Network n = all_layers(cnn::Normalization::standard({0.13f}, {0.31f}));
  const onnx::ModelProto model = parse(cnn::onnx_model_bytes(n.model, n.info));
  EXPECT_EQ(model.ir_version(), 7);
  ASSERT_EQ(model.opset_import_size(), 1);
  EXPECT_EQ(model.opset_import(0).domain(), "");
  EXPECT_EQ(model.opset_import(0).version(), 13);
  EXPECT_EQ(model.producer_name(), "cnn");
  EXPECT_FALSE(model.producer_version().empty());

  std::vector<std::string> ops, names;
  for (const onnx::NodeProto& node : model.graph().node()) {
    ops.push_back(node.op_type());
    names.push_back(node.name());
  }
  // Normalisation (Div 255, Sub mean, Div std), then the layers; dropout has no node.
  const std::vector<std::string> expected_ops = {"Div",
                                                 "Sub",
                                                 "Div",
                                                 "Conv",
                                                 "BatchNormalization",
                                                 "LeakyRelu",
                                                 "MaxPool",
                                                 "AveragePool",
                                                 "Conv",
                                                 "Tanh",
                                                 "GlobalAveragePool",
                                                 "Flatten",
                                                 "Gemm",
                                                 "BatchNormalization",
                                                 "Sigmoid",
                                                 "Relu",
                                                 "Gemm"};
  EXPECT_EQ(ops, expected_ops);
  EXPECT_EQ(names[3], "0_conv2d");
  EXPECT_EQ(names[13], "10_batchnorm1d");

  // Each node takes the previous node's output; the first the graph's input, the last makes
  // the graph's output.
  const auto& nodes = model.graph().node();
  EXPECT_EQ(nodes[0].input(0), "input");
  for (int i = 1; i < nodes.size(); ++i) {
    EXPECT_EQ(nodes[i].input(0), nodes[i - 1].output(0)) << nodes[i].name();
  }
  EXPECT_EQ(nodes[nodes.size() - 1].output(0), "logits");

  const onnx::NodeProto& conv = nodes[3];
  EXPECT_EQ(ints(conv, "kernel_shape"), (std::vector<std::int64_t>{3, 3}));
  EXPECT_EQ(ints(conv, "strides"), (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(ints(conv, "pads"), (std::vector<std::int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(conv.input(1), "0.weight");
  EXPECT_EQ(conv.input(2), "0.bias");
  EXPECT_FLOAT_EQ(attribute(nodes[4], "epsilon")->f(), 1e-5f);
  EXPECT_EQ(nodes[4].input(3), "1.running_mean");
  EXPECT_EQ(nodes[4].input(4), "1.running_var");
  EXPECT_FLOAT_EQ(attribute(nodes[5], "alpha")->f(), 0.1f);
  const onnx::NodeProto& max_pool = nodes[6];
  EXPECT_EQ(ints(max_pool, "kernel_shape"), (std::vector<std::int64_t>{3, 3}));
  EXPECT_EQ(ints(max_pool, "strides"), (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(ints(max_pool, "pads"), (std::vector<std::int64_t>{1, 1, 1, 1}));
  const onnx::NodeProto& avg_pool = nodes[7];
  EXPECT_EQ(ints(avg_pool, "strides"), (std::vector<std::int64_t>{1, 1}));
  EXPECT_EQ(attribute(avg_pool, "count_include_pad")->i(), 1);
  EXPECT_EQ(attribute(nodes[11], "axis")->i(), 1);
  EXPECT_EQ(attribute(nodes[12], "transB")->i(), 1);
  EXPECT_FLOAT_EQ(attribute(nodes[13], "epsilon")->f(), 0.001f);
}

TEST(OnnxExport, InputAndOutputHaveADynamicBatch) {
  Network n = all_layers(cnn::Normalization::unit());
  const onnx::ModelProto model = parse(cnn::onnx_model_bytes(n.model, n.info));
  ASSERT_EQ(model.graph().input_size(), 1);
  ASSERT_EQ(model.graph().output_size(), 1);
  const auto& input = model.graph().input(0);
  EXPECT_EQ(input.name(), "input");
  EXPECT_EQ(input.type().tensor_type().elem_type(), onnx::TensorProto::FLOAT);
  const auto& in_shape = input.type().tensor_type().shape();
  ASSERT_EQ(in_shape.dim_size(), 4);
  EXPECT_EQ(in_shape.dim(0).dim_param(), "N");
  EXPECT_EQ(in_shape.dim(1).dim_value(), 1);
  EXPECT_EQ(in_shape.dim(2).dim_value(), 28);
  EXPECT_EQ(in_shape.dim(3).dim_value(), 28);
  const auto& output = model.graph().output(0);
  EXPECT_EQ(output.name(), "logits");
  const auto& out_shape = output.type().tensor_type().shape();
  ASSERT_EQ(out_shape.dim_size(), 2);
  EXPECT_EQ(out_shape.dim(0).dim_param(), "N");
  EXPECT_EQ(out_shape.dim(1).dim_value(), 10);
  // unit: one Div by 255, no Sub.
  EXPECT_EQ(model.graph().node(0).op_type(), "Div");
  EXPECT_EQ(model.graph().node(1).op_type(), "Conv");
}

TEST(OnnxExport, InitializersHoldTheModelsValuesBitForBit) {
  Network n = all_layers(cnn::Normalization::standard({0.13f}, {0.31f}));
  const onnx::ModelProto model = parse(cnn::onnx_model_bytes(n.model, n.info));
  std::map<std::string, const onnx::TensorProto*> initializers;
  for (const onnx::TensorProto& t : model.graph().initializer()) initializers[t.name()] = &t;
  std::vector<std::pair<std::string, cnn::Tensor*>> expected;
  for (const cnn::Parameter& p : n.model.parameters()) expected.emplace_back(p.name, p.value);
  for (const cnn::Buffer& b : n.model.buffers()) expected.emplace_back(b.name, b.value);
  // Every tensor of the state dict, plus the normalisation's constants, and nothing else.
  EXPECT_EQ(initializers.size(), expected.size() + 3);
  for (const auto& [name, tensor] : expected) {
    ASSERT_TRUE(initializers.count(name)) << name;
    const onnx::TensorProto& t = *initializers[name];
    EXPECT_EQ(t.data_type(), onnx::TensorProto::FLOAT) << name;
    ASSERT_EQ(static_cast<std::size_t>(t.dims_size()), tensor->shape().rank()) << name;
    for (int axis = 0; axis < t.dims_size(); ++axis) {
      EXPECT_EQ(static_cast<std::size_t>(t.dims(axis)), tensor->shape()[axis]) << name;
    }
    ASSERT_EQ(t.raw_data().size(), tensor->size() * sizeof(float)) << name;
    EXPECT_EQ(std::memcmp(t.raw_data().data(), tensor->data(), t.raw_data().size()), 0) << name;
  }
  ASSERT_TRUE(initializers.count("input_mean"));
  float mean = 0;
  std::memcpy(&mean, initializers["input_mean"]->raw_data().data(), sizeof mean);
  EXPECT_EQ(mean, 0.13f);
  EXPECT_EQ(initializers["input_mean"]->dims_size(), 4);
}

TEST(OnnxExport, MetadataDescribesTheModel) {
  Network n = all_layers(cnn::Normalization::standard({0.13f}, {0.31f}));
  const auto metadata = metadata_of(parse(cnn::onnx_model_bytes(n.model, n.info)));
  EXPECT_EQ(metadata.at("class_names"),
            R"(["zero","one","two","three","four","five","six","seven","eight","nine"])");
  EXPECT_EQ(metadata.at("input_normalization"), "standard");
  EXPECT_EQ(metadata.at("input_mean"), "0.129999995");
  EXPECT_EQ(metadata.at("input_std"), "0.310000002");
  EXPECT_EQ(metadata.at("input_scale"), "0.00392156862745098");
  EXPECT_EQ(metadata.at("preparation"), "digit");
  EXPECT_EQ(metadata.at("preset"), "custom");
  EXPECT_EQ(metadata.at("architecture"), kAllLayers);
  EXPECT_EQ(metadata.at("input_shape"), "1,28,28");
  EXPECT_EQ(metadata.at("classes"), "10");
  EXPECT_EQ(metadata.at("optimizer"), "sgd");
  EXPECT_FALSE(metadata.at("cnn_version").empty());
  EXPECT_NE(metadata.at("onnx_input").find("0..255"), std::string::npos);
  EXPECT_NE(metadata.at("onnx_output").find("logits"), std::string::npos);
}

TEST(OnnxExport, NoNormalizationAddsNoNodeAndTheSameModelGivesTheSameBytes) {
  Network n = all_layers(cnn::Normalization::none());
  const std::string bytes = cnn::onnx_model_bytes(n.model, n.info);
  EXPECT_EQ(parse(bytes).graph().node(0).op_type(), "Conv");
  EXPECT_EQ(cnn::onnx_model_bytes(n.model, n.info), bytes);
}

TEST(OnnxExport, ANetworkEndingInDropoutStillNamesItsOutput) {
  cnn::ModelInfo info;
  info.preset = "custom";
  info.input = cnn::Shape{1, 4, 4};
  info.classes = 3;
  info.architecture = "fc(classes) dropout";
  info.normalization = cnn::Normalization::none();
  cnn::Sequential model = cnn::build_architecture(info.architecture, info.input, info.classes);
  model.initialize(1);
  const onnx::ModelProto onnx_model = parse(cnn::onnx_model_bytes(model, info));
  const auto& nodes = onnx_model.graph().node();
  ASSERT_EQ(nodes.size(), 2);  // the fc's Flatten and Gemm
  EXPECT_EQ(nodes[1].op_type(), "Gemm");
  EXPECT_EQ(nodes[1].output(0), "logits");
}

// A layer the exporter does not know.
class Doubling : public cnn::Layer {
 public:
  std::string kind() const override { return "doubling"; }
  std::string describe() const override { return "Doubling()"; }
  cnn::Shape output_shape(const cnn::Shape& input) const override { return input; }
  void forward(const cnn::Tensor&, cnn::Tensor&, bool) override {}
  void backward(const cnn::Tensor&, const cnn::Tensor&, const cnn::Tensor&, cnn::Tensor*) override {
  }
  cnn::InitRole init_role() const override { return cnn::InitRole::other(); }
};

TEST(OnnxExport, RefusesWhatItCannotWrite) {
  Network n = all_layers(cnn::Normalization::unit());
  n.model.add(std::make_unique<Doubling>());
  try {
    cnn::onnx_model_bytes(n.model, n.info);
    FAIL() << "exported an unknown layer";
  } catch (const cnn::OnnxExportError& e) {
    EXPECT_NE(std::string(e.what()).find("layer 15 (Doubling())"), std::string::npos) << e.what();
  }
  Network wrong = all_layers(cnn::Normalization::unit());
  wrong.info.classes = 7;
  try {
    cnn::onnx_model_bytes(wrong.model, wrong.info);
    FAIL() << "exported a network that does not give one logit per class";
  } catch (const cnn::OnnxExportError& e) {
    EXPECT_NE(std::string(e.what()).find("[1, 7]"), std::string::npos) << e.what();
  }
}

TEST(OnnxExport, WritesAtomicallyAndNamesATargetItCannotWrite) {
  const fs::path dir = fs::temp_directory_path() / ("cnn-onnx-test-" + std::to_string(getpid()));
  fs::create_directories(dir);
  Network n = all_layers(cnn::Normalization::unit());
  const fs::path target = dir / "model.onnx";
  std::ofstream(target) << "old";
  cnn::export_onnx(n.model, n.info, target);
  std::ifstream in(target, std::ios::binary);
  std::ostringstream written;
  written << in.rdbuf();
  EXPECT_EQ(written.str(), cnn::onnx_model_bytes(n.model, n.info));
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1u) << "a temporary file was left behind";

  const fs::path missing = dir / "no-such-folder" / "model.onnx";
  try {
    cnn::export_onnx(n.model, n.info, missing);
    FAIL() << "wrote into a missing folder";
  } catch (const cnn::OnnxExportError& e) {
    EXPECT_NE(std::string(e.what()).find(missing.string()), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace

#else

TEST(OnnxExport, NotBuilt) {
  GTEST_SKIP() << "this build has no ONNX support (CNN_ONNX=OFF, or protobuf or onnx.proto "
                  "missing)";
}

#endif
