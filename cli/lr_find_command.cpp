// cnn lr-find: the learning-rate range test (Smith 2017, section 3.3; the sweep is
// cnn/train/lr_finder.hpp). Builds the model as `cnn train` would, trains it for a short run with
// an exponentially rising rate, then prints the suggested rate and writes the loss against the
// rate as a CSV file and a PNG chart. The swept model is thrown away.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <span>
#include <sstream>
#include <string>

#include "cnn/arch/architecture.hpp"
#include "cnn/core/atomic_file.hpp"
#include "cnn/core/numbers.hpp"
#include "cnn/core/parallel.hpp"
#include "cnn/data/data_source.hpp"
#include "cnn/data/dataset.hpp"
#include "cnn/plots/plots.hpp"
#include "cnn/train/lr_finder.hpp"
#include "commands.hpp"
#include "data_options.hpp"
#include "options.hpp"
#include "recipe_options.hpp"

namespace cnn::cli {

namespace {

struct LrFindArgs {
  DataFlags data;
  std::string preset = "seed";
  std::size_t batch = 4;
  double momentum = 0.9;
  double decay = 0.0;  // accepted so that a train command's flags work here; not used
  std::uint64_t seed = 1;
  std::size_t val = 5000;
  std::size_t threads = 0;
  double start_lr = 1e-6;
  double end_lr = 1.0;
  std::size_t iterations = 200;
  std::size_t epochs = 0;  // refused: see check_args
  std::string csv = "lr-find.csv";
  std::string png = "lr-find.png";
  RecipeArgs recipe;
};

// The rate as a person would type it back into --lr: two significant digits.
std::string rounded_rate(double rate) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2g", rate);
  return text;
}

// Refuses, before the sweep, an output whose folder does not exist or that names a folder.
void check_output(const std::string& path, const std::string& flag) {
  if (std::filesystem::is_directory(path)) {
    throw UsageError(flag + ": '" + path + "' is a folder; give a file name");
  }
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (!folder.empty() && !std::filesystem::is_directory(folder)) {
    throw UsageError(flag + ": folder '" + folder.string() + "' does not exist");
  }
}

// The checks that need no data: the range, the outputs, the data folder.
void check_args(const LrFindArgs& args) {
  // Taken only to answer a train command's --epochs with what to do instead.
  if (args.epochs > 0) {
    throw UsageError(
        "--epochs: a sweep's length is --iterations (its steps, default 200); drop "
        "--epochs");
  }
  if (!(args.start_lr < args.end_lr)) {
    throw UsageError("--end-lr: must be larger than --start-lr (" + format_number(args.start_lr) +
                     "), got " + format_number(args.end_lr));
  }
  check_output(args.csv, "--csv");
  check_output(args.png, "--png");
  if (std::filesystem::absolute(args.csv) == std::filesystem::absolute(args.png)) {
    throw UsageError("--csv and --png: both name '" + args.csv + "'; give two files");
  }
  require_data_path(args.data.path);
  refuse_same_file(args.csv, "--csv", args.data.path, "the --data file");
  refuse_same_file(args.png, "--png", args.data.path, "the --data file");
}

// Written atomically (a temporary file beside the target, then renamed): never half a table.
void write_csv(const std::string& path, const LrFindResult& result) {
  std::ostringstream out;
  out << "step,learning_rate,loss,smoothed_loss\n";
  out.precision(9);
  for (std::size_t i = 0; i < result.points.size(); ++i) {
    const LrFindPoint& p = result.points[i];
    out << i + 1 << ',' << p.learning_rate << ',' << p.loss << ',' << p.smoothed << '\n';
  }
  const std::string text = out.str();
  try {
    write_file_atomically(path, {std::as_bytes(std::span(text))});
  } catch (const FileWriteError& e) {
    throw std::runtime_error(std::string("--csv: ") + e.what());
  }
}

int run_lr_find(const LrFindArgs& args, const CLI::App& cmd) {
  check_args(args);
  set_num_threads(args.threads);
  const DataSource data = load_data(args.data, data_options(args.data, true));
  // The images `cnn train` trains on with the same --val (settled as train settles it) and its
  // default --split-seed; the held-out ones stay unseen.
  const std::size_t val =
      cmd.count("--val") > 0 ? args.val : default_validation_count(data.train.size());
  const Dataset train_set = hold_out_validation(data, val, 1).train;

  const bool custom = !args.recipe.arch.empty() || !args.recipe.arch_file.empty();
  const std::string architecture = architecture_text(args.recipe, args.preset);
  Sequential model;
  try {
    model = build_architecture(architecture, train_set.image_shape(), train_set.classes());
  } catch (const ArchitectureError& e) {
    throw UsageError(std::string(args.recipe.arch_file.empty() ? "--arch" : "--arch-file") + ": " +
                     e.what());
  }
  model.initialize(args.seed);

  TrainOptions options;
  options.batch_size = args.batch;
  options.optimizer.momentum = args.momentum;
  options.shuffle_seed = args.seed ^ 0x5eedda7aULL;  // as `cnn train`: the same first batches
  // Optimizer kind, weight decay and augmentation; the steps per epoch (1 here) only size the step
  // schedule's drops, and the sweep replaces the schedule.
  apply_recipe(args.recipe, 1, options);
  LrFindOptions sweep;
  sweep.start_rate = args.start_lr;
  sweep.end_rate = args.end_lr;
  sweep.steps = args.iterations;

  std::fputs(data_report(args.data, data).c_str(), stdout);
  std::printf("lr-find: %s '%s' on %zu images, batch %zu, seed %llu, %zu thread%s\n",
              custom ? "architecture" : "preset",
              custom ? architecture.c_str() : args.preset.c_str(), train_set.size(), args.batch,
              static_cast<unsigned long long>(args.seed), num_threads(),
              num_threads() == 1 ? "" : "s");
  std::printf("%s\n", describe_recipe(args.recipe).c_str());
  for (const char* ignored : {"--schedule", "--decay", "--warmup", "--step-epochs", "--gamma"}) {
    if (cmd.count(ignored) > 0) {
      std::printf("%s is not used: the sweep sets the rate of every step\n", ignored);
    }
  }
  std::printf(
      "rate rising from %s to %s over %zu steps, stopping once the smoothed loss passes "
      "%s times its minimum\n",
      format_number(sweep.start_rate).c_str(), format_number(sweep.end_rate).c_str(), sweep.steps,
      format_number(sweep.divergence_factor).c_str());
  std::printf("%8s %12s %10s %10s\n", "step", "rate", "loss", "smoothed");
  std::fflush(stdout);
  const std::size_t print_every = std::max<std::size_t>(1, sweep.steps / 20);
  std::size_t step = 0;
  const LrFindResult result =
      find_learning_rate(model, train_set, options, sweep, [&](const LrFindPoint& p) {
        if (++step % print_every == 0 || step == 1) {
          std::printf("%8zu %12.4g %10.4f %10.4f\n", step, p.learning_rate, p.loss, p.smoothed);
          std::fflush(stdout);
        }
      });

  const LrFindPoint& last = result.points.back();
  if (result.non_finite) {
    std::printf(
        "stopped after step %zu (rate %.4g): the next step's loss or gradients were not "
        "finite\n",
        result.points.size(), last.learning_rate);
  } else if (result.stopped_early) {
    std::printf("stopped at step %zu (rate %.4g): the smoothed loss passed %s times its minimum\n",
                result.points.size(), last.learning_rate,
                format_number(sweep.divergence_factor).c_str());
  } else {
    std::printf(
        "reached --end-lr without the loss diverging; a larger --end-lr shows where it "
        "does\n");
  }
  const LrFindPoint& lowest = result.points[result.minimum];
  std::printf("lowest smoothed loss %.4f at rate %.4g\n", lowest.smoothed, lowest.learning_rate);
  write_csv(args.csv, result);
  plot_lr_find(args.png, result,
               "learning-rate range test: " + (custom ? std::string("custom") : args.preset));
  std::printf("wrote %s and %s\n", args.csv.c_str(), args.png.c_str());
  if (result.suggestion_clamped) {
    std::printf(
        "the loss was lowest within a decade of --start-lr; a lower --start-lr shows more "
        "of the curve\n");
  }
  std::printf("suggested learning rate %s (a tenth of the rate at the lowest smoothed loss)\n",
              rounded_rate(result.suggested).c_str());
  return 0;
}

}  // namespace

Command add_lr_find_command(CLI::App& app) {
  auto args = std::make_shared<LrFindArgs>();
  CLI::App* cmd = app.add_subcommand(
      "lr-find",
      "Learning-rate range test (Smith 2017): train briefly with a rate rising exponentially "
      "from --start-lr to --end-lr, write the loss against the rate (CSV and PNG) and suggest a "
      "rate for --lr. Takes train's model and optimizer flags; the swept model is not saved");
  add_data_flags(*cmd, args->data);
  auto* preset = add_preset_option(*cmd, args->preset);
  add_recipe_options(*cmd, args->recipe, preset);
  add_batch_option(*cmd, args->batch);
  cmd->add_option("--momentum", args->momentum, "Momentum factor gamma (sgd, nesterov)")
      ->check(number_in({0, 1, false, true}, "a number in [0, 1)"))
      ->capture_default_str();
  cmd->add_option("--decay", args->decay,
                  "Accepted as train takes it, not used: the sweep sets the rate of every step")
      ->check(number_in({0, 1e6, false, false}, "a number >= 0"));
  add_seed_option(*cmd, args->seed);
  cmd->add_option("--val", args->val,
                  "Training images held out for validation, as train holds them out (default "
                  "5000, or a tenth below 50,000 images): the sweep does not see them")
      ->check(integer_at_least(0));
  add_threads_option(*cmd, args->threads);
  cmd->add_option("--start-lr", args->start_lr, "Learning rate of the first step")
      ->check(number_in({0, 1e6, true, false}, "a number > 0"))
      ->capture_default_str();
  cmd->add_option("--end-lr", args->end_lr,
                  "Learning rate of the last step (larger than --start-lr)")
      ->check(number_in({0, 1e6, true, false}, "a number > 0"))
      ->capture_default_str();
  cmd->add_option("--iterations", args->iterations,
                  "Steps from --start-lr to --end-lr (fewer if the loss diverges first)")
      ->check(integer_at_least(2, 100000))
      ->capture_default_str();
  cmd->add_option("--epochs", args->epochs)->group("");  // hidden; refused in check_args
  cmd->add_option("--csv", args->csv, "File for the table of step, rate, loss, smoothed loss")
      ->type_name("FILE")
      ->capture_default_str();
  cmd->add_option("--png", args->png, "File for the chart of the loss against the rate")
      ->type_name("FILE")
      ->capture_default_str();
  return [args, cmd] { return run_lr_find(*args, *cmd); };
}

}  // namespace cnn::cli
