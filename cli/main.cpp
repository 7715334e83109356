// cnn: train and evaluate convolutional networks from the command line.
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "cnn/core/instruction_set.hpp"
#include "commands.hpp"

int main(int argc, char** argv) {
  // Before anything else runs: a build for a larger instruction set than this CPU has would
  // otherwise die of an illegal instruction somewhere in the kernels.
  if (const char* missing = cnn::missing_cpu_feature()) {
    std::cerr << "cnn: error: this build's kernels use " << cnn::compiled_instruction_set().name
              << ", but this CPU lacks '" << missing
              << "'; rebuild with -DCNN_ARCH=native (or avx2, or portable)\n";
    return 1;
  }
  const cnn::InstructionSet isa = cnn::compiled_instruction_set();
  CLI::App app{
      "cnn: convolutional neural networks from first principles, trained on MNIST-format data."};
  app.set_version_flag("--version", std::string("cnn 0.1.0 (kernels: ") + isa.name + ", " +
                                        std::to_string(isa.float_lanes) + " floats per vector)");
  app.require_subcommand(1);
  const cnn::cli::Command train = cnn::cli::add_train_command(app);
  const cnn::cli::Command eval = cnn::cli::add_eval_command(app);
  const cnn::cli::Command predict = cnn::cli::add_predict_command(app);
  const cnn::cli::Command info = cnn::cli::add_info_command(app);
  const cnn::cli::Command plot = cnn::cli::add_plot_command(app);
  const cnn::cli::Command lr_find = cnn::cli::add_lr_find_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help or --version
  } catch (const CLI::ParseError& e) {
    const CLI::App* failed = &app;
    for (const CLI::App* sub : app.get_subcommands()) failed = sub;
    std::string message = e.what();
    if (failed == &app && dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
      // CLI11 says "A subcommand is required" also when the first word is not a known command.
      std::string commands;
      for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
        commands += (commands.empty() ? "" : ", ") + sub->get_name();
      }
      message =
          argc > 1 ? "'" + std::string(argv[1]) + "' is not a command; the commands are " + commands
                   : "a command is required: " + commands;
    }
    std::cerr << "cnn: error: " << message << "\n"
              << "Run '" << (failed == &app ? std::string("cnn") : "cnn " + failed->get_name())
              << " --help' for usage.\n";
    return 2;
  }

  try {
    if (app.got_subcommand("train")) return train();
    if (app.got_subcommand("eval")) return eval();
    if (app.got_subcommand("predict")) return predict();
    if (app.got_subcommand("info")) return info();
    if (app.got_subcommand("plot")) return plot();
    if (app.got_subcommand("lr-find")) return lr_find();
  } catch (const cnn::cli::UsageError& e) {
    std::cerr << "cnn: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "cnn: error: " << e.what() << "\n";
    return 1;
  }
  return 2;
}
