// cnn train: build a preset, train it on MNIST-format data, report validation and test accuracy.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>

#include "cnn/checkpoint.hpp"
#include "cnn/dataset.hpp"
#include "cnn/divergence.hpp"
#include "cnn/model_file.hpp"
#include "cnn/parallel.hpp"
#include "cnn/presets.hpp"
#include "cnn/training.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "signals.hpp"

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
  // Checkpoints (docs/reliability.md).
  std::string checkpoint;
  std::size_t checkpoint_every = 0;
  std::string resume;
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

// ---- checkpoints and resume (docs/reliability.md) --------------------------------------------

// Round-trips exactly, so a resumed run uses the very same learning rate.
std::string exact_number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return buffer;
}

// The settings a checkpoint records, so that --resume continues the same run.
std::map<std::string, std::string> run_settings(const TrainArgs& args, std::size_t total,
                                                std::size_t train_images) {
  return {{"batch", std::to_string(args.batch)},
          {"iterations", std::to_string(args.iterations)},
          {"epochs", std::to_string(args.epochs)},
          {"total_iterations", std::to_string(total)},
          {"learning_rate", exact_number(args.lr)},
          {"momentum", exact_number(args.momentum)},
          {"decay", exact_number(args.decay)},
          {"seed", std::to_string(args.seed)},
          {"val", std::to_string(args.val)},
          {"threads", std::to_string(num_threads())},
          {"report_every", std::to_string(args.report_every)},
          {"checkpoint_every", std::to_string(args.checkpoint_every)},
          {"train_images", std::to_string(train_images)}};
}

const std::string& setting(const Checkpoint& c, const std::string& path, const std::string& key) {
  const auto it = c.info.extra.find(key);
  if (it == c.info.extra.end()) {
    throw CheckpointError(path + ": the checkpoint does not record the setting '" + key + "'");
  }
  return it->second;
}

template <class T>
T parse_setting(const Checkpoint& c, const std::string& path, const std::string& key) {
  const std::string& saved = setting(c, path, key);
  T value{};
  bool ok = false;
  if constexpr (std::is_floating_point_v<T>) {
    char* end = nullptr;
    value = std::strtod(saved.c_str(), &end);
    ok = !saved.empty() && end == saved.c_str() + saved.size();
  } else {
    const auto [end, ec] = std::from_chars(saved.data(), saved.data() + saved.size(), value);
    ok = !saved.empty() && ec == std::errc() && end == saved.data() + saved.size();
  }
  if (!ok) {
    throw CheckpointError(path + ": the setting " + key + " '" + saved + "' is not a number");
  }
  return value;
}

// --resume: the run's settings come from the checkpoint. A flag given again must agree with it
// (so the original command line plus --resume works); --threads may differ, with a warning, and
// --checkpoint-every may change.
void take_settings_from(const Checkpoint& c, TrainArgs& args, const CLI::App& cmd) {
  const std::string& path = args.resume;
  const auto differs = [&](const char* flag, const std::string& saved) {
    return UsageError(std::string(flag) + ": the checkpoint's run used " + saved + ", not " +
                      cmd.get_option(flag)->as<std::string>() +
                      "; leave the flag out or give the same value when resuming");
  };
  const auto take = [&](const char* flag, const std::string& key, auto& field) {
    const auto value = parse_setting<std::remove_reference_t<decltype(field)>>(c, path, key);
    if (cmd.count(flag) > 0 && field != value) throw differs(flag, setting(c, path, key));
    field = value;
  };
  if (cmd.count("--preset") > 0 && args.preset != c.info.preset) {
    throw differs("--preset", c.info.preset);
  }
  args.preset = c.info.preset;
  take("--batch", "batch", args.batch);
  take("--iterations", "iterations", args.iterations);
  take("--epochs", "epochs", args.epochs);
  take("--lr", "learning_rate", args.lr);
  take("--momentum", "momentum", args.momentum);
  take("--decay", "decay", args.decay);
  take("--seed", "seed", args.seed);
  take("--val", "val", args.val);
  take("--report-every", "report_every", args.report_every);
  if (cmd.count("--checkpoint-every") == 0) {
    args.checkpoint_every = parse_setting<std::size_t>(c, path, "checkpoint_every");
  }
  const auto threads = parse_setting<std::size_t>(c, path, "threads");
  if (cmd.count("--threads") == 0) {
    args.threads = threads;
  } else if (args.threads != threads) {
    std::fprintf(stderr,
                 "cnn: warning: the checkpoint's run used %zu threads; with --threads %zu the "
                 "result may differ in the last bits from a run never stopped\n",
                 threads, args.threads);
  }
}

void check_same_data(const Checkpoint& c, const TrainArgs& args, std::size_t train_images) {
  const std::string& saved = setting(c, args.resume, "train_images");
  if (saved != std::to_string(train_images)) {
    throw CheckpointError(args.resume + ": the checkpoint's run trained on " + saved +
                          " images, but --data " + args.data + " with --val " +
                          std::to_string(args.val) + " gives " + std::to_string(train_images));
  }
}

std::string checkpoint_path_for(const TrainArgs& args) {
  if (!args.checkpoint.empty()) return args.checkpoint;
  if (!args.resume.empty()) return args.resume;  // a resumed run goes on updating its checkpoint
  return "cnn-checkpoint.safetensors";
}

struct CheckpointStatus {
  std::string path;
  std::size_t last_iteration = 0;  // of the last checkpoint written or resumed from
  bool exists = false;
};
using CheckpointWriter = std::shared_ptr<CheckpointStatus>;

// Wires checkpoints, resume and Ctrl-C into the training options.
CheckpointWriter start_checkpoints(const TrainArgs& args, const std::string& path,
                                   const TrainState* resume, Sequential& model, ModelInfo info,
                                   TrainOptions& options) {
  auto status = std::make_shared<CheckpointStatus>();
  status->path = path;
  if (resume != nullptr) {
    status->exists = path == args.resume;
    status->last_iteration = resume->iteration;
    std::printf("resuming from %s at iteration %zu\n", args.resume.c_str(), resume->iteration);
  }
  if (args.checkpoint_every > 0) {
    std::printf("checkpoint every %zu iterations to %s\n", args.checkpoint_every, path.c_str());
  }
  options.resume = resume;
  options.checkpoint_every = args.checkpoint_every;
  options.stop_requested = &install_stop_handlers();
  options.on_checkpoint = [status, &model, info = std::move(info)](const TrainState& state) {
    try {
      save_checkpoint(status->path, model, info, state);
    } catch (const CheckpointError& e) {
      throw CheckpointError(std::string(e.what()) +
                            (status->exists
                                 ? " (the previous checkpoint, from iteration " +
                                       std::to_string(status->last_iteration) + ", is intact)"
                                 : ""));
    }
    status->exists = true;
    status->last_iteration = state.iteration;
  };
  return status;
}

std::string diverged_message(const TrainingDiverged& e, const CheckpointStatus& checkpoint) {
  std::string message = std::string(e.what()) + "; the step was not applied";
  if (checkpoint.exists) {
    message += "; the last good checkpoint, " + checkpoint.path + ", is from iteration " +
               std::to_string(checkpoint.last_iteration);
  }
  return message + "; try a smaller --lr";
}

std::string shell_quoted(const std::string& word) {
  if (!word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789_-./=:,+@%") == std::string::npos) {
    return word;
  }
  std::string quoted = "'";
  for (const char ch : word) quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return quoted + "'";
}

// Ctrl-C: the checkpoint is written; say how to go on. Exit code 128 + the signal, as a shell
// reports a program killed by it.
int report_interrupted(const TrainArgs& args, const CheckpointStatus& checkpoint,
                       const TrainResult& result, std::size_t total) {
  std::string command =
      "cnn train --data " + shell_quoted(args.data) + " --resume " + shell_quoted(checkpoint.path);
  if (args.checkpoint_every > 0) {
    command += " --checkpoint-every " + std::to_string(args.checkpoint_every);
  }
  if (!args.save.empty()) command += " --save " + shell_quoted(args.save);
  std::fflush(stdout);
  std::fprintf(stderr,
               "cnn: interrupted after iteration %zu of %zu; checkpoint written to %s\n"
               "cnn: resume with: %s\n",
               result.iterations, total, checkpoint.path.c_str(), command.c_str());
  return 128 + stop_signal();
}

void add_checkpoint_options(CLI::App& cmd, TrainArgs& args) {
  cmd.add_option("--checkpoint", args.checkpoint,
                 "Checkpoint file, written every --checkpoint-every iterations and on Ctrl-C "
                 "(default: cnn-checkpoint.safetensors, or the --resume file)");
  cmd.add_option("--checkpoint-every", args.checkpoint_every,
                 "Iterations between checkpoints (0: only on Ctrl-C)")
      ->check(integer_at_least(0))
      ->capture_default_str();
  cmd.add_option("--resume", args.resume,
                 "Continue the run saved in this checkpoint, with its settings");
}

int run_train(TrainArgs args, const CLI::App& cmd) {
  std::optional<Checkpoint> resumed;
  if (!args.resume.empty()) {
    resumed = load_checkpoint(args.resume);
    take_settings_from(*resumed, args, cmd);
  }
  require_data_folder(args.data);
  if (!args.save.empty()) check_writable(args.save);
  const std::string checkpoint_path = checkpoint_path_for(args);
  if (!args.checkpoint.empty() || args.checkpoint_every > 0) {
    check_writable(checkpoint_path, "--checkpoint");
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

  if (resumed) check_same_data(*resumed, args, train_set.size());
  Sequential model = resumed
                         ? std::move(resumed->model)
                         : make_preset(args.preset, train_set.image_shape(), train_set.classes());
  if (!resumed) model.initialize(args.seed);

  TrainOptions options;
  options.batch_size = args.batch;
  options.iterations = args.iterations;
  options.epochs = args.epochs;
  options.sgd = {args.lr, args.momentum, args.decay};
  options.shuffle_seed = args.seed ^ 0x5eedda7aULL;  // its own stream, derived from --seed
  const std::size_t total = planned_iterations(options, train_set.size());
  options.report_every =
      args.report_every > 0 ? args.report_every : std::max<std::size_t>(1, total / 20);

  std::printf("training preset '%s' on %zu images (%zu held out for validation), %zu test images\n",
              args.preset.c_str(), train_set.size(), val_set.size(), data.test.size());
  std::printf("batch %zu, %zu iterations, lr %s, momentum %s, decay %s, seed %llu, %zu thread%s\n",
              args.batch, total, number(args.lr).c_str(), number(args.momentum).c_str(),
              number(args.decay).c_str(), static_cast<unsigned long long>(args.seed), num_threads(),
              num_threads() == 1 ? "" : "s");
  std::fputs(model.summary(Shape{args.batch, 1, train_set.rows(), train_set.cols()}).c_str(),
             stdout);
  const CheckpointWriter checkpoints =
      start_checkpoints(args, checkpoint_path, resumed ? &resumed->state : nullptr, model,
                        ModelInfo{args.preset, train_set.image_shape(), train_set.classes(),
                                  run_settings(args, total, train_set.size())},
                        options);
  std::fflush(stdout);

  TrainResult result;
  try {
    result = train(model, train_set, options, [](const TrainProgress& p) {
      std::printf("iteration %6zu/%zu  epoch %zu  loss %.4f  lr %.6f  %.2f s\n", p.iteration,
                  p.total_iterations, p.epoch, p.loss, p.learning_rate, p.seconds);
      std::fflush(stdout);
    });
  } catch (const TrainingDiverged& e) {
    throw std::runtime_error(diverged_message(e, *checkpoints));
  }
  uninstall_stop_handlers();
  if (result.interrupted) return report_interrupted(args, *checkpoints, result, total);
  std::printf("training time %.3f s (%.0f images/s)\n", result.seconds,
              static_cast<double>(result.images) / result.seconds);
  const double val_accuracy = val_set.size() > 0 ? evaluate(model, val_set) : 0.0;
  if (val_set.size() > 0) {
    std::printf("validation accuracy %.4f (%zu images)\n", val_accuracy, val_set.size());
  }
  const double test_accuracy = evaluate(model, data.test);
  std::printf("test accuracy %.4f (%zu images)\n", test_accuracy, data.test.size());

  if (!args.save.empty()) {
    ModelInfo info{args.preset, train_set.image_shape(), train_set.classes(), {}};
    info.extra = {{"batch", std::to_string(args.batch)},
                  {"iterations", std::to_string(total)},
                  {"learning_rate", number(args.lr)},
                  {"momentum", number(args.momentum)},
                  {"decay", number(args.decay)},
                  {"seed", std::to_string(args.seed)},
                  {"threads", std::to_string(num_threads())},
                  {"validation_accuracy", number(val_accuracy)},
                  {"test_accuracy", number(test_accuracy)}};
    save_model(args.save, model, info);
    std::printf("saved model to %s\n", args.save.c_str());
  }
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
  cmd->add_option("--data", args->data, "Folder with the MNIST IDX files (raw or .gz)")->required();
  std::string presets;
  for (const auto& name : preset_names()) presets += (presets.empty() ? "" : ", ") + name;
  cmd->add_option("--preset", args->preset, "Network architecture: " + presets)
      ->check(CLI::IsMember(preset_names()).description(""))
      ->capture_default_str();
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
  cmd->add_option("--save", args->save, "Write the trained model to this safetensors file");
  add_checkpoint_options(*cmd, *args);
  return [args, cmd] { return run_train(*args, *cmd); };
}

}  // namespace cnn::cli
