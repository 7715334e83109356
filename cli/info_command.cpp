// cnn info: what a model file holds (architecture, shapes, parameter count, training settings).
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "cnn/io/model_file.hpp"
#include "commands.hpp"

namespace cnn::cli {

namespace {

int run_info(const std::string& path) {
  LoadedModel loaded = load_model(path);
  const ModelInfo& info = loaded.info;
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
  std::printf("parameters: %zu\n", loaded.model.parameter_count());
  std::printf("layers (output shapes for one image):\n");
  std::fputs(loaded.model.summary(Shape{1, info.input[0], info.input[1], info.input[2]}).c_str(),
             stdout);
  // Every tensor the file holds: the parameters, then the buffers (state that is saved but not
  // trained, such as batch normalisation's running statistics), as in a PyTorch state_dict.
  const std::vector<Parameter> parameters = loaded.model.parameters();
  const std::vector<Buffer> buffers = loaded.model.buffers();
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
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "info", "Show a model file's architecture, parameter count, shapes and training settings");
  cmd->add_option("MODEL", *path, "Model file (safetensors) written by 'cnn train'")->required();
  return [path] { return run_info(*path); };
}

}  // namespace cnn::cli
