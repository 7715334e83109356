#include "train_plan.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "cnn/arch/architecture.hpp"
#include "cnn/core/parallel.hpp"
#include "cnn/data/data_source.hpp"
#include "cnn/io/run_log.hpp"
#include "commands.hpp"
#include "fault_injection.hpp"
#include "run_folder.hpp"

namespace cnn::cli {

namespace {

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

// --resume (the checkpoint's settings) or --arch-file (its text), then the checks that need no
// data: the data folder exists and the files to write can be written. Sets the thread count.
std::optional<Checkpoint> settle_settings(TrainArgs& args, const CLI::App& cmd,
                                          const ProcessGroup& processes) {
  std::optional<Checkpoint> resumed;
  if (!args.checkpoints.resume.empty()) {
    resumed = load_checkpoint(args.checkpoints.resume);
    take_settings_from(*resumed, run_settings(args), args.checkpoints, args.threads, cmd);
  } else if (!args.recipe.arch_file.empty()) {
    // The checkpoint records the text itself (as --arch), not the file, which may change.
    args.recipe.arch = architecture_text(args.recipe, args.preset);
  }
  require_data_path(args.data.path);
  // Early stopping and --keep-best watch the validation accuracy: there must be one.
  if (args.val == 0) {
    if (args.early_stop > 0) {
      throw UsageError(
          "--early-stop: needs validation images to watch, and --val 0 holds none "
          "out; give --val N (N > 0) or leave --early-stop out");
    }
    if (args.keep_best) {
      throw UsageError(
          "--keep-best: needs validation images to pick the best model by, and "
          "--val 0 holds none out; give --val N (N > 0) or leave --keep-best out");
    }
  }
  // --batch is the global batch: every process takes a share of each one.
  if (args.batch < processes.size()) {
    throw UsageError("--batch: " + std::to_string(args.batch) + " is smaller than the " +
                     std::to_string(processes.size()) +
                     " processes; each process needs at least one image of every batch");
  }
  // A Ctrl-C writes a checkpoint even without --checkpoint: it may not share the model's file,
  // and neither may overwrite a file the run reads (a CSV file given as --data, --arch-file).
  const std::string checkpoint_what =
      !args.checkpoints.checkpoint.empty() ? "the --checkpoint file"
      : !args.checkpoints.resume.empty()
          ? "the --resume checkpoint, which the resumed run goes on writing"
          : "the default checkpoint file, written on Ctrl-C";
  const std::string checkpoint = checkpoint_path_for(args.checkpoints);
  refuse_same_file(args.save, "--save", checkpoint, checkpoint_what);
  for (const auto& [output, flag] :
       {std::pair{args.save, "--save"}, std::pair{checkpoint, "--checkpoint"}}) {
    refuse_same_file(output, flag, args.data.path, "the --data file");
    refuse_same_file(output, flag, args.recipe.arch_file, "the --arch-file");
  }
  if (processes.rank() == 0 && !args.save.empty()) check_writable(args.save);
  if (processes.rank() == 0 &&
      (!args.checkpoints.checkpoint.empty() || args.checkpoints.checkpoint_every > 0)) {
    check_writable(checkpoint, "--checkpoint");
  }
  set_num_threads(args.threads);
  return resumed;
}

// Settles --val: as given (or restored by --resume), else default_validation_count.
void settle_validation_count(TrainArgs& args, const CLI::App& cmd, std::size_t images) {
  if (cmd.count("--val") > 0 || !args.checkpoints.resume.empty()) return;
  args.val = default_validation_count(images);
}

// The normalisation the flags ask for: a resumed run keeps its checkpoint's.
Normalization input_normalization(const TrainPlan& plan, const Dataset& train) {
  if (plan.resumed) return plan.resumed->info.normalization;
  const auto kind = parse_normalization_kind(plan.args.normalize);
  if (kind == NormalizationKind::none) return Normalization::none();
  if (kind == NormalizationKind::standard) {
    // train is a slice or a selection: its images are contiguous from image(0).
    return Normalization::measure(train.image(0), train.size(), train.channels(),
                                  train.rows() * train.cols());
  }
  return Normalization::unit();
}

// Loads the data and holds out the validation images (hold_out_validation). A resumed run must
// see as many training images as before.
void load_data(TrainPlan& plan, const CLI::App& cmd) {
  TrainArgs& args = plan.args;
  plan.data = load_data(args.data, data_options(args.data, !args.quiet));
  plan.data_report = data_report(args.data, plan.data);
  const DataSource& source = plan.data;
  if (source.validation) {
    if (cmd.count("--val") > 0) {
      plan.data_report +=
          "note: --val is not used: " + args.data.path + " holds its own validation images\n";
    }
    args.val = source.validation->size();
  } else {
    settle_validation_count(args, cmd, source.train.size());
  }
  HeldOut held_out = hold_out_validation(source, args.val, args.split_seed);
  const Dataset& train = held_out.train;
  const Dataset& validation = held_out.validation;
  plan.validation_text = std::move(held_out.how);
  plan.data_report += class_counts_report(train, "training images");
  if (plan.resumed) {
    check_same_data(*plan.resumed, args.checkpoints, train.size(),
                    "--data " + args.data.path + " with --val " + std::to_string(args.val));
    if (!(plan.resumed->info.input == train.image_shape())) {
      throw CheckpointError(args.checkpoints.resume + ": the checkpoint's model takes images " +
                            plan.resumed->info.input.to_string() + " but --data " + args.data.path +
                            " gives " + train.image_shape().to_string());
    }
  }
  const Normalization normalization = input_normalization(plan, train);
  plan.train_set = train.with_normalization(normalization);
  plan.val_set = validation.with_normalization(normalization);
  // --no-test: the run goes on as for data without a test set, so no test figure is computed.
  plan.test_set = source.test && !args.no_test ? source.test->with_normalization(normalization)
                                               : train.slice(0, 0);
  if (args.preparation == "auto") {
    plan.preparation = train.image_shape() == Shape{1, 28, 28} && digit_classes(train.class_names())
                           ? Preparation::digit
                           : Preparation::resize;
  } else {
    plan.preparation = *parse_preparation(args.preparation);
  }
}

// The checkpoint's model for --resume, else the architecture built and initialised from --seed.
Sequential make_model(TrainPlan& plan) {
  if (plan.resumed) return std::move(plan.resumed->model);
  Sequential model;
  try {
    model = build_architecture(plan.architecture, plan.train_set.image_shape(),
                               plan.train_set.classes());
  } catch (const ArchitectureError& e) {
    throw UsageError(std::string(plan.args.recipe.arch_file.empty() ? "--arch" : "--arch-file") +
                     ": " + e.what());
  }
  model.initialize(plan.args.seed);
  return model;
}

// The library's options for the flags, the one place that fills them (checkpoints and Ctrl-C
// are wired in by CheckpointSession). Sets iterations to the counts they make on train_images.
TrainOptions training_options(const TrainArgs& args, std::size_t train_images,
                              IterationPlan& iterations) {
  TrainOptions options;
  options.batch_size = args.batch;
  options.iterations = args.iterations;
  options.epochs = args.epochs;
  iterations = plan_iterations(options, train_images);
  options.optimizer.learning_rate = args.lr;
  options.optimizer.momentum = args.momentum;
  options.optimizer.schedule.decay = args.decay;
  options.shuffle_seed = args.seed ^ 0x5eedda7aULL;  // its own stream, derived from --seed
  apply_recipe(args.recipe, iterations.per_epoch, options);
  return options;
}

}  // namespace

TrainPlan prepare_plan(TrainArgs args, const CLI::App& cmd, ProcessGroup& processes) {
  TrainPlan plan;
  plan.processes = &processes;
  plan.resumed = settle_settings(args, cmd, processes);
  plan.args = std::move(args);
  load_data(plan, cmd);
  plan.custom = !plan.args.recipe.arch.empty();
  plan.architecture = architecture_text(plan.args.recipe, plan.args.preset);
  plan.model = make_model(plan);
  plan.options = training_options(plan.args, plan.train_set.size(), plan.iterations);
  plan.options.processes = &processes;
  plan.options.after_backward = fault_injection_from_environment(processes.rank());
  if (plan.resumed) {
    plan.progress = RunProgress::from(plan.resumed->extras, plan.args.checkpoints.resume);
    if (plan.args.keep_best && plan.progress.best_accuracy && plan.progress.best_weights.empty()) {
      throw CheckpointError(plan.args.checkpoints.resume +
                            ": the run keeps its best model (--keep-best), but the checkpoint "
                            "holds no best weights");
    }
  }
  const std::size_t processes_before = plan.progress.processes;
  plan.progress.processes = processes.size();
  if (plan.resumed && processes_before != processes.size()) {
    std::printf(
        "note: the run was trained by %zu process%s up to here and continues with %zu: the "
        "global batch and the data order stay the same, so training continues as it would have, "
        "but only to within the order of float sums (bit for bit only with %zu)\n",
        processes_before, processes_before == 1 ? "" : "es", processes.size(), processes_before);
  }
  if (!plan.writes_files()) {
    // The other processes of a data-parallel run write nothing: rank 0 keeps the run folder.
    plan.progress.folder = plan.resumed ? plan.progress.folder : std::string();
    return plan;
  }
  if (plan.resumed && !plan.progress.folder.empty()) {
    plan.run =
        resume_run_folder(plan.progress.folder, plan.args.out, plan.resumed->state.iteration);
    // A run killed after its last checkpoint logged further: those lines are trained again.
    cut_metrics_after(plan.run / "metrics.csv", plan.resumed->state.iteration);
  } else {
    plan.run = make_run_folder(plan.args.out, plan.custom ? "custom" : plan.args.preset);
  }
  plan.progress.folder = std::filesystem::absolute(plan.run).lexically_normal().string();
  return plan;
}

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
          // Recorded since other data than MNIST's IDX files came (format version 2).
          {"--channels", "channels", &args.data.channels, true},
          {"--image-size", "image_size", &args.data.image_size, true},
          {"--skip-bad-images", "skip_bad_images", &args.data.skip_bad_images, true},
          {"--normalize", "normalize", &args.normalize, true},
          {"--preparation", "preparation", &args.preparation, true},
          {"--split-seed", "split_seed", &args.split_seed, true},
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
          {"--elastic-sigma", "elastic_sigma", &args.recipe.elastic_sigma},
          // Recorded since early stopping came; older checkpoints resume with the flags' values.
          {"--eval-every", "eval_every", &args.eval_every, true},
          {"--log-every", "log_every", &args.log_every, true},
          {"--early-stop", "early_stop", &args.early_stop, true},
          {"--keep-best", "keep_best", &args.keep_best, true},
          {"--no-test", "no_test", &args.no_test, true},
          // Recorded since mirroring, random erasing and label smoothing came.
          {"--flip", "flip", &args.recipe.flip, true},
          {"--erase", "erase", &args.recipe.erase, true},
          {"--label-smoothing", "label_smoothing", &args.recipe.label_smoothing, true}};
}

}  // namespace cnn::cli
