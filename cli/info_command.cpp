// cnn info: what a model file holds (architecture, shapes, parameter count, training settings).
#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cnn/model.hpp"
#include "commands.hpp"

namespace cnn::cli {

namespace {

struct InfoArgs {
  std::string model;
  bool json = false;
};

// Everything the text shows, as one JSON document (--json).
nlohmann::json info_json(const std::string& path, Model& model) {
  const ModelInfo& info = model.info();
  const Normalization& normalization = info.normalization;
  nlohmann::json mean = nlohmann::json::array(), stddev = nlohmann::json::array();
  for (std::size_t c = 0; c < std::max<std::size_t>(normalization.channels(), 1); ++c) {
    mean.push_back(normalization.mean(c));
    stddev.push_back(normalization.stddev(c));
  }
  nlohmann::json layers = nlohmann::json::array();
  Shape shape{1, info.input[0], info.input[1], info.input[2]};  // one image
  for (std::size_t i = 0; i < model.network().size(); ++i) {
    const Layer& layer = model.network().layer(i);
    shape = layer.output_shape(shape);
    layers.push_back({{"index", i}, {"layer", layer.describe()}, {"output", shape.to_string()}});
  }
  nlohmann::json tensors = nlohmann::json::array();
  for (const Parameter& p : model.network().parameters()) {
    tensors.push_back(
        {{"name", p.name}, {"shape", p.value->shape().to_string()}, {"buffer", false}});
  }
  for (const Buffer& b : model.network().buffers()) {
    tensors.push_back(
        {{"name", b.name}, {"shape", b.value->shape().to_string()}, {"buffer", true}});
  }
  nlohmann::json settings = nlohmann::json::object();
  for (const auto& [key, value] : info.extra) {
    if (key != kVersionKey && key != kDataChecksumKey) settings[key] = value;
  }
  const auto recorded = [&info](const char* key) -> nlohmann::json {
    const auto found = info.extra.find(key);
    return found == info.extra.end() ? nlohmann::json(nullptr) : nlohmann::json(found->second);
  };
  return {{"model", path},
          {"cnn_version", recorded(kVersionKey)},
          {"training_data_checksum", recorded(kDataChecksumKey)},
          {"preset", info.preset},
          {"architecture", info.architecture},
          {"input", {info.input[0], info.input[1], info.input[2]}},
          {"classes", info.classes},
          {"class_names", info.names()},
          {"class_names_recorded", !info.class_names.empty()},
          {"normalization",
           {{"kind", normalization_name(normalization.kind())},
            {"scale", normalization.scale()},
            {"mean", mean},
            {"std", stddev},
            {"formula", describe(normalization)}}},
          {"preparation", preparation_name(info.preparation)},
          {"parameters", model.parameter_count()},
          {"layers", layers},
          {"tensors", tensors},
          {"settings", settings}};
}

int run_info(const InfoArgs& args) {
  const std::string& path = args.model;
  Model model = Model::load(path);
  if (args.json) {
    std::printf("%s\n", info_json(path, model).dump(2).c_str());
    return 0;
  }
  const ModelInfo& info = model.info();
  std::printf("model %s\n", path.c_str());
  // Files written before these were recorded lack them.
  const auto recorded = [&info](const char* key) {
    const auto found = info.extra.find(key);
    return found == info.extra.end() ? std::string("not recorded") : found->second;
  };
  std::printf("written by cnn version: %s\n", recorded(kVersionKey).c_str());
  std::printf("training data checksum: %s\n", recorded(kDataChecksumKey).c_str());
  std::printf("architecture: preset %s, input %s, %zu classes\n", info.preset.c_str(),
              info.input.to_string().c_str(), info.classes);
  std::string names;
  for (const std::string& name : info.names()) names += (names.empty() ? "" : ", ") + name;
  std::printf("classes: %s%s\n", names.c_str(),
              info.class_names.empty() ? " (numbered: the file names none)" : "");
  std::printf("input normalisation: %s\n", describe(info.normalization).c_str());
  std::printf("preparation for cnn predict: %s\n",
              info.preparation == Preparation::digit
                  ? "digit (as MNIST's digits: inverted when dark on light, cropped, scaled into "
                    "20x20, centred by mass in 28x28)"
                  : "resize (converted to the input's channels and resized to its size)");
  std::printf("parameters: %zu\n", model.parameter_count());
  std::printf("layers (output shapes for one image):\n");
  std::fputs(model.network().summary(Shape{1, info.input[0], info.input[1], info.input[2]}).c_str(),
             stdout);
  // Every tensor the file holds: the parameters, then the buffers (state that is saved but not
  // trained, such as batch normalisation's running statistics), as in a PyTorch state_dict.
  const std::vector<Parameter> parameters = model.network().parameters();
  const std::vector<Buffer> buffers = model.network().buffers();
  int name_width = 10;  // the names in one column, however long ("1.running_mean")
  for (const Parameter& p : parameters)
    name_width = std::max(name_width, static_cast<int>(p.name.size()));
  for (const Buffer& b : buffers)
    name_width = std::max(name_width, static_cast<int>(b.name.size()));
  std::printf("tensors (PyTorch state_dict names and shapes, float32):\n");
  for (const Parameter& p : parameters) {
    std::printf("  %-*s %-16s %zu values\n", name_width, p.name.c_str(),
                p.value->shape().to_string().c_str(), p.value->size());
  }
  for (const Buffer& b : buffers) {
    std::printf("  %-*s %-16s %zu values (buffer)\n", name_width, b.name.c_str(),
                b.value->shape().to_string().c_str(), b.value->size());
  }
  std::map<std::string, std::string> settings = info.extra;
  for (const char* shown : {kVersionKey, kDataChecksumKey}) settings.erase(shown);
  if (!settings.empty()) {
    std::printf("training settings and results:\n");
    for (const auto& [key, value] : settings) {
      std::printf("  %s: %s\n", key.c_str(), value.c_str());
    }
  }
  return 0;
}

}  // namespace

Command add_info_command(CLI::App& app) {
  auto args = std::make_shared<InfoArgs>();
  CLI::App* cmd = app.add_subcommand(
      "info", "Show a model file's architecture, parameter count, shapes and training settings");
  cmd->add_option("MODEL", args->model, "Model file (safetensors) written by 'cnn train'")
      ->required();
  cmd->add_flag("--json", args->json, "Print everything as one JSON document");
  return [args] { return run_info(*args); };
}

}  // namespace cnn::cli
