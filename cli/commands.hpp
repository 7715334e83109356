// The subcommands of the cnn program. Each registers its flags on the app and returns the
// function that runs it after parsing; errors surface as exceptions that main() maps to exit
// codes (UsageError: 2, anything else: 1).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <stdexcept>

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

}  // namespace cnn::cli
