// cnn export: a model file as an ONNX model (README, "Export to ONNX"; the graph is described in
// cnn/io/onnx_export.hpp). Only in a build with the cnn_onnx component (CNN_WITH_ONNX); without
// it the command still exists and says how to get it, so that scripts get a clear answer.
#include <cstdio>
#include <memory>
#include <string>

#include "commands.hpp"
#ifdef CNN_WITH_ONNX
#include "cnn/io/onnx_export.hpp"
#include "cnn/model.hpp"
#endif

namespace cnn::cli {

namespace {

struct ExportArgs {
  std::string model;
  std::string target;
};

int run_export(const ExportArgs& args) {
#ifdef CNN_WITH_ONNX
  refuse_same_file(args.target, "TARGET", args.model, "the MODEL file being exported");
  Model model = Model::load(args.model);  // ModelFileError names the file
  export_onnx(model.network(), model.info(), args.target);
  std::printf(
      "exported %s to %s (ONNX opset %lld, IR version %lld; input '%s': raw pixels "
      "[N, %zu, %zu, %zu], output '%s': [N, %zu] logits)\n",
      args.model.c_str(), args.target.c_str(), static_cast<long long>(kOnnxOpset),
      static_cast<long long>(kOnnxIrVersion), kOnnxInputName, model.input_shape()[0],
      model.input_shape()[1], model.input_shape()[2], kOnnxOutputName, model.classes());
  return 0;
#else
  (void)args;
  throw UsageError(
      "this build of cnn has no ONNX support: install protobuf and onnx.proto (Debian: apt-get "
      "install libprotobuf-dev protobuf-compiler libonnx-dev) and rebuild (CMake option "
      "CNN_ONNX=AUTO or ON)");
#endif
}

}  // namespace

Command add_export_command(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "export", "Write a model file as an ONNX model (for ONNX Runtime, OpenCV and the like)");
  cmd->add_option("MODEL", args->model, "Model file (safetensors) written by 'cnn train'")
      ->required();
  cmd->add_option("TARGET", args->target,
                  "The ONNX file to write (replaced atomically: the old one or the whole new one)")
      ->required();
  return [args] { return run_export(*args); };
}

}  // namespace cnn::cli
