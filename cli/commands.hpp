// The subcommands of the cnn program. Each registers its flags on the app and returns the
// function that runs it after parsing; errors surface as exceptions that main() maps to exit
// codes (UsageError: 2, anything else: 1).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <stdexcept>
#include <string>

#include "cnn/core/process_group.hpp"

namespace cnn::cli {

// A problem with how the program was called, found after parsing (for example a data folder
// that does not exist). Exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using Command = std::function<int()>;

// processes: those of a data-parallel run (docs/scale-out.md), or this one alone.
Command add_train_command(CLI::App& app, ProcessGroup& processes);
Command add_eval_command(CLI::App& app);
Command add_predict_command(CLI::App& app);
Command add_info_command(CLI::App& app);
Command add_plot_command(CLI::App& app);
Command add_lr_find_command(CLI::App& app);
Command add_export_command(CLI::App& app);  // ONNX; without CNN_WITH_ONNX it says so
Command add_serve_command(CLI::App& app);   // the web page; without CNN_WITH_SERVE it says so

// Throws UsageError naming the flag when dir is not a folder, saying how to fetch MNIST.
void require_data_path(const std::string& path);

// Throws UsageError when the file an output flag names is a file the command reads (or another
// output of it), through any spelling of the path or a link to it: writing there would destroy
// it, as `cnn export m.safetensors m.safetensors` once replaced the model with its ONNX graph.
//   "--predictions-out: 'm.safetensors' is the --model file; writing there would destroy it"
// other_what names the other file ("the --model file"); a folder is not compared. Paths that do
// not exist yet compare by their absolute, normalised form.
void refuse_same_file(const std::string& output, const std::string& output_flag,
                      const std::string& other, const std::string& other_what);

}  // namespace cnn::cli
