// cnn: train and evaluate convolutional networks from the command line.
#include <cctype>
#include <cstdio>
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cnn/core/instruction_set.hpp"
#include "cnn/core/version.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "parallel_run.hpp"

namespace {

// Every name of every flag of cmd ("--epochs", "-h", ...), for suggestions.
std::vector<std::string> flag_names(const CLI::App& cmd) {
  std::vector<std::string> names;
  for (const CLI::Option* option : cmd.get_options()) {
    for (const std::string& name : option->get_lnames()) names.push_back("--" + name);
    for (const std::string& name : option->get_snames()) names.push_back("-" + name);
  }
  return names;
}

// What cmd got but does not take. An unknown flag is named first, with the nearest flag
// suggested: "--epoch 1" leaves both "--epoch" and "1" over, and the value only follows from the
// flag. Otherwise the stray values themselves.
std::string unexpected_arguments(const CLI::App& cmd) {
  const std::vector<std::string> extras = cmd.remaining();
  for (const std::string& extra : extras) {
    const bool flag = extra.size() > 1 && extra[0] == '-' &&
                      std::isdigit(static_cast<unsigned char>(extra[1])) == 0 && extra[1] != '.';
    if (flag) {
      const std::string name = extra.substr(0, extra.find('='));
      return "unknown flag " + name + cnn::cli::did_you_mean(name, flag_names(cmd));
    }
  }
  std::string values;
  for (const std::string& extra : extras) values += (values.empty() ? "'" : " '") + extra + "'";
  return "unexpected argument" + std::string(extras.size() > 1 ? "s " : " ") + values +
         " (the command takes flags only, see --help)";
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything else runs: a build for a larger instruction set than this CPU has would
  // otherwise die of an illegal instruction somewhere in the kernels.
  // The library checks too, at first use (the same message); here it comes before any output.
  try {
    cnn::require_cpu_support();
  } catch (const cnn::UnsupportedCpu& e) {
    std::cerr << "cnn: error: " << e.what() << "\n";
    return 1;
  }
  // Every process an MPI launcher started (or this one alone); only rank 0 prints and writes.
  cnn::cli::ParallelRun run(argc, argv);
  cnn::ProcessGroup& processes = run.group();
  const bool first_process = processes.rank() == 0;
  if (!first_process && std::freopen("/dev/null", "w", stdout) == nullptr) {
    std::cerr << "cnn: error: rank " << processes.rank() << ": cannot silence its output\n";
    return 1;
  }
  const cnn::InstructionSet isa = cnn::compiled_instruction_set();
  CLI::App app{
      "cnn: convolutional neural networks from first principles, trained on MNIST-format data."};
  // Before the commands are added: they take their parent's formatter.
  app.formatter(std::make_shared<cnn::cli::HelpFormatter>());
  app.set_version_flag("--version", std::string("cnn ") + cnn::version() +
                                        " (kernels: " + isa.name + ", " +
                                        std::to_string(isa.float_lanes) + " floats per vector)");
  app.require_subcommand(1);
  const cnn::cli::Command train = cnn::cli::add_train_command(app, processes);
  const cnn::cli::Command eval = cnn::cli::add_eval_command(app);
  const cnn::cli::Command predict = cnn::cli::add_predict_command(app);
  const cnn::cli::Command info = cnn::cli::add_info_command(app);
  const cnn::cli::Command plot = cnn::cli::add_plot_command(app);
  const cnn::cli::Command lr_find = cnn::cli::add_lr_find_command(app);
  const cnn::cli::Command export_onnx = cnn::cli::add_export_command(app);
  const cnn::cli::Command serve = cnn::cli::add_serve_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help or --version
  } catch (const CLI::ParseError& e) {
    // Every process got the same command line and fails alike; the first one says why.
    if (!first_process) return 2;
    const CLI::App* failed = &app;
    for (const CLI::App* sub : app.get_subcommands()) failed = sub;
    std::string message = e.what();
    if (failed == &app && dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
      // CLI11 says "A subcommand is required" also when the first word is not a known command.
      std::vector<std::string> names;
      std::string commands;
      for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
        names.push_back(sub->get_name());
        commands += (commands.empty() ? "" : ", ") + sub->get_name();
      }
      // A misspelt top-level flag ("--versoin") lands here too.
      if (argc > 1 && argv[1][0] == '-') names = flag_names(app);
      const std::string suggestion = argc > 1 ? cnn::cli::nearest_name(argv[1], names) : "";
      message =
          argc <= 1 ? "a command is required: " + commands
          : suggestion.empty()
              ? "'" + std::string(argv[1]) + "' is not a command; the commands are " + commands
              : "'" + std::string(argv[1]) + "' is not a command; did you mean " + suggestion +
                    "? (the commands are " + commands + ")";
    } else if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr ||
               (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr &&
                !failed->remaining().empty())) {
      // Also before a missing required flag: "--modle m" is the cause of "--model is required".
      message = unexpected_arguments(*failed);
    } else if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr &&
               message.ends_with(" missing")) {
      // CLI11 writes "--lr: 1 required FLOAT:a number > 0 missing": its type names, as --help
      // no longer shows them.
      const std::string flag = message.substr(0, message.find(':'));
      const CLI::Option* option = failed->get_option_no_throw(flag);
      const std::string allowed =
          option != nullptr ? cnn::cli::HelpFormatter::allowed_values(option) : "";
      message = flag + ": a value is missing" + (allowed.empty() ? "" : " (" + allowed + ")");
    }
    std::cerr << "cnn: error: " << message << "\n"
              << "Run '" << (failed == &app ? std::string("cnn") : "cnn " + failed->get_name())
              << " --help' for usage.\n";
    return 2;
  }

  if (processes.size() > 1 && !app.got_subcommand("train")) {
    if (first_process) {
      std::cerr << "cnn: error: only 'cnn train' runs as several processes; start '"
                << app.get_subcommands().front()->get_name() << "' without mpirun\n";
    }
    return 2;
  }
  try {
    if (app.got_subcommand("train")) return train();
    if (app.got_subcommand("eval")) return eval();
    if (app.got_subcommand("predict")) return predict();
    if (app.got_subcommand("info")) return info();
    if (app.got_subcommand("plot")) return plot();
    if (app.got_subcommand("lr-find")) return lr_find();
    if (app.got_subcommand("export")) return export_onnx();
    if (app.got_subcommand("serve")) return serve();
  } catch (const cnn::cli::UsageError& e) {
    run.fail(e, 2);  // several processes: ends them all, the others may be waiting for this one
  } catch (const std::exception& e) {
    run.fail(e);
  }
  return 2;
}
