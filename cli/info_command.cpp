// cnn info: what a model file holds (architecture, shapes, parameter count, training settings).
#include <cstdio>
#include <string>

#include "cnn/io/model_file.hpp"
#include "commands.hpp"

namespace cnn::cli {

namespace {

int run_info(const std::string& path) {
  LoadedModel loaded = load_model(path);
  const ModelInfo& info = loaded.info;
  std::printf("model %s\n", path.c_str());
  std::printf("architecture: preset %s, input %s, %zu classes\n", info.preset.c_str(),
              info.input.to_string().c_str(), info.classes);
  std::printf(
      "input normalisation: x = pixel / 255 (pixels 0..255 to [0, 1]), no mean "
      "subtraction\n");
  std::printf("parameters: %zu\n", loaded.model.parameter_count());
  std::printf("layers (output shapes for one image):\n");
  std::fputs(loaded.model.summary(Shape{1, info.input[0], info.input[1], info.input[2]}).c_str(),
             stdout);
  std::printf("tensors (PyTorch state_dict names and shapes, float32):\n");
  for (const Parameter& p : loaded.model.parameters()) {
    std::printf("  %-10s %-16s %zu values\n", p.name.c_str(), p.value->shape().to_string().c_str(),
                p.value->size());
  }
  if (!info.extra.empty()) {
    std::printf("training settings and results:\n");
    for (const auto& [key, value] : info.extra) {
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
