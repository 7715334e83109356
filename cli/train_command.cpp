// cnn train: build a preset, train it on MNIST-format data, report validation and test accuracy.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "checkpoint_options.hpp"
#include "cnn/arch/architecture.hpp"
#include "cnn/arch/presets.hpp"
#include "cnn/core/parallel.hpp"
#include "cnn/data/dataset.hpp"
#include "cnn/io/model_file.hpp"
#include "cnn/train/evaluation.hpp"
#include "cnn/train/training.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "recipe_options.hpp"
#include "run_folder.hpp"
#include "signals.hpp"
#include "train_session.hpp"

namespace cnn::cli {

namespace {

struct TrainArgs {
  std::string data;
  std::string preset = "seed";
  std::size_t batch = 4;
  std::size_t iterations = 2000;
  std::size_t epochs = 0;
  double lr = 0.01;
  double momentum = 0.9;
  double decay = 1e-5;
  std::uint64_t seed = 1;
  std::size_t val = 5000;
  std::size_t threads = 0;
  std::size_t report_every = 0;
  std::string save;
  std::string out;
  bool quiet = false;
  std::size_t eval_every = 0;
  std::size_t log_every = 0;
  CheckpointArgs checkpoints;  // --checkpoint, --checkpoint-every, --resume
  RecipeArgs recipe;
};

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// Finds out before training, not after, whether --save (or flag) can be written: its folder must
// exist and accept a new file (tried for real, which also covers read-only file systems and root).
void check_writable(const std::string& path, const std::string& flag = "--save") {
  const std::filesystem::path target = std::filesystem::absolute(path);
  if (std::filesystem::is_directory(target)) {
    throw UsageError(flag + ": '" + path +
                     "' is a folder; give a file name such as model.safetensors");
  }
  const std::filesystem::path folder = target.parent_path();
  if (!std::filesystem::is_directory(folder)) {
    throw UsageError(flag + ": folder '" + folder.string() + "' does not exist");
  }
  const std::filesystem::path probe = folder / (".cnn-write-test-" + std::to_string(::getpid()));
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw std::runtime_error(flag + ": cannot write to folder '" + folder.string() +
                             "': " + std::strerror(errno));
  }
  ::close(fd);
  ::unlink(probe.c_str());
}

// The settings a checkpoint records and --resume restores (checkpoint_options.hpp).
std::vector<RunSetting> run_settings(TrainArgs& args) {
  return {{"--preset", "preset", &args.preset},
          {"--batch", "batch", &args.batch},
          {"--iterations", "iterations", &args.iterations},
          {"--epochs", "epochs", &args.epochs},
          {"--lr", "learning_rate", &args.lr},
          {"--momentum", "momentum", &args.momentum},
          {"--decay", "decay", &args.decay},
          {"--seed", "seed", &args.seed},
          {"--val", "val", &args.val},
          {"--report-every", "report_every", &args.report_every},
          {"--arch", "arch", &args.recipe.arch},
          {"--optimizer", "optimizer", &args.recipe.optimizer},
          {"--schedule", "schedule", &args.recipe.schedule},
          {"--weight-decay", "weight_decay", &args.recipe.weight_decay},
          {"--warmup", "warmup", &args.recipe.warmup},
          {"--step-epochs", "step_epochs", &args.recipe.step_epochs},
          {"--gamma", "gamma", &args.recipe.gamma},
          {"--translate", "translate", &args.recipe.translate},
          {"--rotate", "rotate", &args.recipe.rotate},
          {"--scale", "scale", &args.recipe.scale},
          {"--elastic", "elastic", &args.recipe.elastic},
          {"--elastic-sigma", "elastic_sigma", &args.recipe.elastic_sigma}};
}

int run_train(TrainArgs args, const CLI::App& cmd) {
  std::optional<Checkpoint> resumed;
  if (!args.checkpoints.resume.empty()) {
    resumed = load_checkpoint(args.checkpoints.resume);
    take_settings_from(*resumed, run_settings(args), args.checkpoints, args.threads, cmd);
  } else if (!args.recipe.arch_file.empty()) {
    // The checkpoint records the text itself (as --arch), not the file, which may change.
    args.recipe.arch = architecture_text(args.recipe, args.preset);
  }
  require_data_folder(args.data);
  if (!args.save.empty()) check_writable(args.save);
  if (!args.checkpoints.checkpoint.empty() || args.checkpoints.checkpoint_every > 0) {
    check_writable(checkpoint_path_for(args.checkpoints), "--checkpoint");
  }
  set_num_threads(args.threads);

  MnistSplits data = load_mnist(args.data);
  if (args.val >= data.train.size()) {
    throw UsageError("--val: must be less than the " + std::to_string(data.train.size()) +
                     " training images, got " + std::to_string(args.val));
  }
  // The validation images are the last `val` of the training file, as a held-out split.
  const Dataset train_set = data.train.slice(0, data.train.size() - args.val);
  const Dataset val_set = data.train.slice(data.train.size() - args.val, args.val);

  if (resumed) {
    check_same_data(*resumed, args.checkpoints, train_set.size(),
                    "--data " + args.data + " with --val " + std::to_string(args.val));
  }
  const bool custom = !args.recipe.arch.empty();
  const std::string architecture = architecture_text(args.recipe, args.preset);
  Sequential model;
  if (resumed) {
    model = std::move(resumed->model);
  } else {
    try {
      model = build_architecture(architecture, train_set.image_shape(), train_set.classes());
    } catch (const ArchitectureError& e) {
      throw UsageError(std::string(args.recipe.arch_file.empty() ? "--arch" : "--arch-file") +
                       ": " + e.what());
    }
    model.initialize(args.seed);
  }

  TrainOptions options;
  options.batch_size = args.batch;
  options.iterations = args.iterations;
  options.epochs = args.epochs;
  options.sgd = {args.lr, args.momentum, args.decay};
  options.shuffle_seed = args.seed ^ 0x5eedda7aULL;  // its own stream, derived from --seed
  const std::size_t total = planned_iterations(options, train_set.size());
  SessionSettings session_settings;
  session_settings.quiet = args.quiet;
  session_settings.report_every =
      args.report_every > 0 ? args.report_every : std::max<std::size_t>(1, total / 20);
  session_settings.log_every =
      args.log_every > 0 ? args.log_every : std::max<std::size_t>(1, total / 500);
  session_settings.eval_every =
      args.eval_every > 0 ? args.eval_every : std::max<std::size_t>(1, total / 5);
  const std::filesystem::path run = make_run_folder(args.out, custom ? "custom" : args.preset);
  session_settings.metrics = run / "metrics.csv";
  apply_recipe(args.recipe, (train_set.size() + args.batch - 1) / args.batch, options);

  std::printf("training %s '%s' on %zu images (%zu held out for validation), %zu test images\n",
              custom ? "architecture" : "preset",
              custom ? architecture.c_str() : args.preset.c_str(), train_set.size(), val_set.size(),
              data.test.size());
  std::printf("batch %zu, %zu iterations, lr %s, momentum %s, decay %s, seed %llu, %zu thread%s\n",
              args.batch, total, number(args.lr).c_str(), number(args.momentum).c_str(),
              number(args.decay).c_str(), static_cast<unsigned long long>(args.seed), num_threads(),
              num_threads() == 1 ? "" : "s");
  std::printf("%s\n", describe_recipe(args.recipe).c_str());
  std::printf("run folder %s\n", run.c_str());
  std::fputs(model.summary(Shape{args.batch, 1, train_set.rows(), train_set.cols()}).c_str(),
             stdout);
  const CheckpointSession checkpoints(
      args.checkpoints, resumed ? &resumed->state : nullptr, model,
      {args.preset, train_set.image_shape(), train_set.classes(),
       recorded_settings(run_settings(args), args.checkpoints, num_threads(), train_set.size()),
       architecture},
      options);
  std::fflush(stdout);

  SessionResult session;
  try {
    session = train_with_progress(model, train_set, val_set, options, session_settings);
  } catch (const TrainingDiverged& e) {
    throw std::runtime_error(checkpoints.diverged_message(e));
  }
  uninstall_stop_handlers();
  const TrainResult& result = session.train;
  if (result.interrupted) {
    return checkpoints.report_interrupted(result, total, args.data, args.save);
  }
  std::printf("training time %.3f s (%.0f images/s)\n", session.training_seconds,
              static_cast<double>(result.images) / session.training_seconds);
  if (session.validation_seconds > 0) {
    std::printf("validation during training %.3f s (not counted in the training time)\n",
                session.validation_seconds);
  }
  const double val_accuracy = session.final_validation_accuracy.value_or(0.0);
  if (val_set.size() > 0) {
    std::printf("validation accuracy %.4f (%zu images)\n", val_accuracy, val_set.size());
  }
  const Evaluation evaluation = evaluate_in_detail(model, data.test);
  const double test_accuracy = evaluation.accuracy();
  std::printf("test accuracy %.4f (%zu images)\n", test_accuracy, data.test.size());
  std::fputs(evaluation.confusion_text().c_str(), stdout);

  {
    ModelInfo info{custom ? "custom" : args.preset,
                   train_set.image_shape(),
                   train_set.classes(),
                   {},
                   architecture};
    info.extra = {{"batch", std::to_string(args.batch)},
                  {"iterations", std::to_string(total)},
                  {"learning_rate", number(args.lr)},
                  {"momentum", number(args.momentum)},
                  {"decay", number(args.decay)},
                  {"recipe", describe_recipe(args.recipe)},
                  {"seed", std::to_string(args.seed)},
                  {"threads", std::to_string(num_threads())},
                  {"validation_accuracy", number(val_accuracy)},
                  {"test_accuracy", number(test_accuracy)}};
    save_model(run / "model.safetensors", model, info);
    if (!args.save.empty()) {
      save_model(args.save, model, info);
      std::printf("saved model to %s\n", args.save.c_str());
    }
  }
  write_test_results(run, data.test, evaluation);
  const std::string title = run.filename().string();
  std::string written;
  for (const auto& picture : draw_run_pictures(run, title)) {
    written += " " + picture.filename().string();
  }
  std::printf("run folder %s: metrics.csv model.safetensors test_predictions.csv%s\n", run.c_str(),
              written.c_str());
  return 0;
}

}  // namespace

void require_data_folder(const std::string& dir) {
  if (!std::filesystem::is_directory(dir)) {
    throw UsageError("--data: folder '" + dir +
                     "' not found; fetch MNIST into it with: scripts/fetch-mnist.sh " + dir);
  }
}

Command add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "Train a network and report its accuracy");
  cmd->add_option("--data", args->data,
                  "Folder with the four IDX files of MNIST's layout (raw or .gz)")
      ->required();
  std::string presets;
  for (const auto& name : preset_names()) presets += (presets.empty() ? "" : ", ") + name;
  auto* preset = cmd->add_option("--preset", args->preset, "Network architecture: " + presets)
                     ->check(CLI::IsMember(preset_names()).description(""))
                     ->capture_default_str();
  add_recipe_options(*cmd, args->recipe, preset);
  cmd->add_option("--batch", args->batch, "Images per mini-batch")
      ->check(integer_at_least(1, 1 << 16))
      ->capture_default_str();
  auto* iterations = cmd->add_option("--iterations", args->iterations, "Mini-batches to train on")
                         ->check(integer_at_least(1))
                         ->capture_default_str();
  cmd->add_option("--epochs", args->epochs,
                  "Passes over the training set (instead of --iterations)")
      ->check(integer_at_least(1, 100000))
      ->excludes(iterations);
  cmd->add_option("--lr", args->lr, "Initial learning rate")
      ->check(number_in(0, 1e6, true, false, "a number > 0"))
      ->capture_default_str();
  cmd->add_option("--momentum", args->momentum, "Momentum factor gamma")
      ->check(number_in(0, 1, false, true, "a number in [0, 1)"))
      ->capture_default_str();
  cmd->add_option("--decay", args->decay, "Learning-rate decay: lr_t = lr / (1 + t * decay)")
      ->check(number_in(0, 1e6, false, false, "a number >= 0"))
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed for the initial weights and the data order")
      ->check(integer_at_least(0, (1LL << 62)))
      ->capture_default_str();
  cmd->add_option("--val", args->val, "Training images held out for validation")
      ->check(integer_at_least(0))
      ->capture_default_str();
  cmd->add_option("--threads", args->threads, "Threads (0: one per hardware thread)")
      ->check(integer_at_least(0, 1024))
      ->capture_default_str();
  cmd->add_option("--report-every", args->report_every,
                  "Iterations between loss reports (default: 20 reports per run)")
      ->check(integer_at_least(1));
  cmd->add_option("--save", args->save,
                  "Also write the trained model to this safetensors file (the run folder always "
                  "gets model.safetensors)");
  cmd->add_option("--out", args->out,
                  "Run folder for the metrics log, the model and the pictures (default: a new "
                  "folder runs/<date>-<time>-<preset>)");
  cmd->add_flag("--quiet", args->quiet, "No progress bar or periodic lines while training");
  cmd->add_option("--eval-every", args->eval_every,
                  "Iterations between validation runs during training (default: 5 per run)")
      ->check(integer_at_least(1));
  cmd->add_option("--log-every", args->log_every,
                  "Iterations between lines of the metrics log (default: 500 lines per run)")
      ->check(integer_at_least(1));
  add_checkpoint_options(*cmd, args->checkpoints);
  return [args, cmd] { return run_train(*args, *cmd); };
}

}  // namespace cnn::cli
