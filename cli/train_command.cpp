// cnn train: trains the plan that train_plan.cpp prepares (progress, checkpoints, Ctrl-C), then
// reports validation and test accuracy and writes the model and the run folder's pictures.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "checkpoint_options.hpp"
#include "cnn/core/numbers.hpp"
#include "cnn/core/parallel.hpp"
#include "cnn/io/model_file.hpp"
#include "cnn/model.hpp"
#include "cnn/train/evaluation.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "recipe_options.hpp"
#include "run_folder.hpp"
#include "signals.hpp"
#include "train_plan.hpp"
#include "train_session.hpp"

namespace cnn::cli {

namespace {

// "2 threads", or for a data-parallel run "2 processes with 1 thread each (shares of 32 images
// of every batch of 64)".
std::string describe_processes(const TrainPlan& plan) {
  const std::size_t threads = num_threads(), processes = plan.processes->size();
  const std::string thread_text = std::to_string(threads) + (threads == 1 ? " thread" : " threads");
  if (processes == 1) return thread_text;
  const std::size_t batch = plan.args.batch;
  const std::size_t most = (batch + processes - 1) / processes, least = batch / processes;
  return std::to_string(processes) + " processes with " + thread_text + " each (shares of " +
         (most == least ? std::to_string(most)
                        : std::to_string(most) + " and " + std::to_string(least)) +
         " images of every batch of " + std::to_string(batch) + ")";
}

// What is about to be trained, on what and how.
void print_plan(TrainPlan& plan) {
  const TrainArgs& args = plan.args;
  std::fputs(plan.data_report.c_str(), stdout);
  std::printf("training %s '%s' on %zu images (%zu held out for validation), %zu test images\n",
              plan.custom ? "architecture" : "preset",
              plan.custom ? plan.architecture.c_str() : args.preset.c_str(), plan.train_set.size(),
              plan.val_set.size(), plan.test_set.size());
  std::printf("validation: %s; input %s; predict's preparation: %s\n", plan.validation_text.c_str(),
              describe(plan.train_set.normalization()).c_str(),
              preparation_name(plan.preparation).c_str());
  std::printf("batch %zu, %zu iterations, lr %s, momentum %s, decay %s, seed %llu, %s\n",
              args.batch, plan.iterations.total, format_number(args.lr).c_str(),
              format_number(args.momentum).c_str(), format_number(args.decay).c_str(),
              static_cast<unsigned long long>(args.seed), describe_processes(plan).c_str());
  std::printf("%s\n", describe_recipe(args.recipe).c_str());
  std::printf("run folder %s\n", plan.run.c_str());
  std::fputs(plan.model
                 .summary(Shape{args.batch, plan.train_set.channels(), plan.train_set.rows(),
                                plan.train_set.cols()})
                 .c_str(),
             stdout);
}

// What model files and checkpoints record of the network and its input.
ModelInfo network_info(const TrainPlan& plan) {
  ModelInfo info{plan.custom ? "custom" : plan.args.preset,
                 plan.train_set.image_shape(),
                 plan.train_set.classes(),
                 {},
                 plan.architecture};
  info.class_names = plan.train_set.class_names();
  info.normalization = plan.train_set.normalization();
  info.preparation = plan.preparation;
  return info;
}

// Checkpoints, --resume and Ctrl-C wired into plan.options; a checkpoint records the settings.
CheckpointSession checkpoint_session(TrainPlan& plan) {
  TrainArgs& args = plan.args;
  ModelInfo info = network_info(plan);
  info.extra =
      recorded_settings(run_settings(args), args.checkpoints, num_threads(), plan.train_set.size());
  return CheckpointSession(
      args.checkpoints, plan.resumed ? &plan.resumed->state : nullptr, plan.model, std::move(info),
      [&plan] { return plan.progress.extras(); }, plan.options);
}

// How often the session reports, logs and validates: as the flags say, else 20 loss lines, 500
// metrics lines and 5 validation runs per run (once per epoch with --early-stop, which needs more
// than 5 to see a plateau).
SessionSettings session_settings(const TrainPlan& plan) {
  const TrainArgs& args = plan.args;
  const std::size_t total = plan.iterations.total;
  const auto every = [total](std::size_t flag, std::size_t times) {
    return flag > 0 ? flag : std::max<std::size_t>(1, total / times);
  };
  SessionSettings settings;
  settings.quiet = args.quiet;
  settings.report_every = every(args.report_every, 20);
  settings.log_every = every(args.log_every, 500);
  settings.eval_every = args.eval_every == 0 && args.early_stop > 0
                            ? std::max<std::size_t>(1, plan.iterations.per_epoch)
                            : every(args.eval_every, 5);
  if (plan.writes_files()) settings.metrics = plan.run / "metrics.csv";
  settings.append_metrics = plan.resumed.has_value();
  settings.early_stop = args.early_stop;
  settings.keep_best = args.keep_best;
  return settings;
}

// Trains the plan's model; a divergence names the last good checkpoint (and ends the record).
SessionResult train_model(TrainPlan& plan, const CheckpointSession& checkpoints,
                          RunRecord& record) {
  SessionResult session;
  try {
    session = train_with_progress(plan.model, plan.train_set, plan.val_set, plan.options,
                                  plan.iterations, session_settings(plan), plan.progress);
  } catch (const TrainingDiverged& e) {
    const std::string message = checkpoints.diverged_message(e);
    record.set("error", message);
    record.end("diverged");
    throw std::runtime_error(message);
  }
  uninstall_stop_handlers();
  return session;
}

// The model file's metadata: how the model was trained and how well it does.
ModelInfo model_info(const TrainPlan& plan, double val_accuracy, double test_accuracy) {
  const TrainArgs& args = plan.args;
  ModelInfo info = network_info(plan);
  info.extra = {{"batch", std::to_string(args.batch)},
                {"iterations", std::to_string(plan.iterations.total)},
                {"learning_rate", format_number(args.lr)},
                {"momentum", format_number(args.momentum)},
                {"decay", format_number(args.decay)},
                {"recipe", describe_recipe(args.recipe)},
                {"seed", std::to_string(args.seed)},
                {"threads", std::to_string(num_threads())},
                {"validation_accuracy", format_number(val_accuracy)},
                {"test_accuracy", format_number(test_accuracy)},
                // The training file as decoded: the training images, then the validation ones.
                {kDataChecksumKey, data_checksum(std::vector{plan.train_set, plan.val_set})}};
  return info;
}

// Early stopping and --keep-best in the model file's metadata (only when given, so that other
// runs keep writing the same bytes).
void add_early_stopping_info(ModelInfo& info, const TrainPlan& plan, const SessionResult& session) {
  const TrainArgs& args = plan.args;
  if (args.early_stop == 0 && !args.keep_best) return;
  const RunProgress& progress = plan.progress;
  if (args.early_stop > 0) {
    info.extra["early_stop"] = std::to_string(args.early_stop);
    info.extra["stopped_at"] = std::to_string(session.train.iterations);
  }
  if (args.keep_best) info.extra["keep_best"] = "1";
  info.extra["best_validation_iteration"] = std::to_string(progress.best_iteration);
  info.extra["best_validation_accuracy"] = format_number(progress.best_accuracy.value_or(0.0));
}

// --keep-best: puts the best validation run's weights back when a later run was worse. Returns
// the validation accuracy of the model that will be saved.
double settle_final_weights(TrainPlan& plan, const SessionResult& session) {
  const double final_accuracy = session.final_validation_accuracy.value_or(0.0);
  const RunProgress& progress = plan.progress;
  if (!plan.args.keep_best || !progress.best_accuracy) return final_accuracy;
  if (progress.best_iteration != session.final_validation_iteration) {
    restore_weights(plan.model, progress.best_weights);
  }
  std::printf("keeping the best model: validation run %zu of %zu, iteration %zu, accuracy %.4f\n",
              progress.best_evaluation, progress.evaluations, progress.best_iteration,
              *progress.best_accuracy);
  return *progress.best_accuracy;
}

// A few lines at the end of every run: validation (best and final), test accuracy, time,
// throughput and the files written (`files`: names in the run folder; and --save).
void print_summary(const TrainPlan& plan, const SessionResult& session, double test_accuracy,
                   const std::vector<std::filesystem::path>& files) {
  const RunProgress& progress = plan.progress;
  const TrainResult& result = session.train;
  std::printf("summary: ");
  if (progress.best_accuracy) {
    std::printf("validation accuracy best %.4f (step %zu), final %.4f (step %zu); ",
                *progress.best_accuracy, progress.best_iteration,
                session.final_validation_accuracy.value_or(0.0),
                session.final_validation_iteration);
  }
  const std::size_t step =
      plan.args.keep_best && progress.best_accuracy ? progress.best_iteration : result.iterations;
  if (plan.test_set.size() > 0) {
    std::printf("test accuracy %.4f (model of step %zu)\n", test_accuracy, step);
  } else {
    std::printf("%s (model of step %zu)\n", plan.args.no_test ? "test set left out" : "no test set",
                step);
  }
  std::printf(
      "summary: %zu of %zu iterations%s, %.3f s training, %.0f images/s\n", result.iterations,
      plan.iterations.total, result.stopped_early ? " (early stop)" : "", session.training_seconds,
      session.training_seconds > 0 ? static_cast<double>(result.images) / session.training_seconds
                                   : 0.0);
  std::string written;
  for (const auto& file : files) written += " " + file.filename().string();
  std::printf("summary: files in %s:%s%s%s\n", plan.run.c_str(), written.c_str(),
              plan.args.save.empty() ? "" : "; --save ", plan.args.save.c_str());
}

// Times and accuracies, the confusion matrix, the model files and the run folder's pictures;
// the results also go into the run record.
void report_run(TrainPlan& plan, const SessionResult& session, RunRecord& record) {
  const TrainResult& result = session.train;
  if (result.stopped_early) {
    std::printf(
        "early stop at iteration %zu: no better validation accuracy in %zu runs (best "
        "%.4f at iteration %zu)\n",
        result.iterations, plan.args.early_stop, plan.progress.best_accuracy.value_or(0.0),
        plan.progress.best_iteration);
  }
  std::printf("training time %.3f s (%.0f images/s)\n", session.training_seconds,
              static_cast<double>(result.images) / session.training_seconds);
  if (plan.processes->size() > 1) {
    std::printf(
        "%zu processes together; rank 0 spent %.3f s of this process's training time summing "
        "gradients and agreeing on decisions, %zu replica checks found every process alike\n",
        plan.processes->size(), result.communication_seconds, result.replica_checks);
  }
  if (session.validation_seconds > 0) {
    std::printf("validation during training %.3f s (not counted in the training time)\n",
                session.validation_seconds);
  }
  const double val_accuracy = settle_final_weights(plan, session);
  if (plan.val_set.size() > 0) {
    std::printf("validation accuracy %.4f (%zu images)\n", val_accuracy, plan.val_set.size());
  }
  // The test set, or where the data has none the validation images, make the confusion matrix and
  // the pictures. Every process computes its share; rank 0 gets the whole evaluation and writes
  // everything.
  const bool has_test = plan.test_set.size() > 0;
  const Dataset& reported = has_test ? plan.test_set : plan.val_set;
  const bool evaluated = reported.size() > 0;
  const Evaluation evaluation =
      evaluated ? evaluate_in_detail(plan.model, reported, 100, plan.processes) : Evaluation{};
  if (!plan.writes_files()) return;
  const double test_accuracy = has_test ? evaluation.accuracy() : 0.0;
  if (has_test) {
    std::printf("test accuracy %.4f (%zu images)\n", test_accuracy, plan.test_set.size());
  } else {
    std::printf("%s: the confusion matrix and the pictures show the %s\n",
                plan.args.no_test ? "test set left out (--no-test)"
                                  : ("no test set in " + plan.args.data.path).c_str(),
                evaluated ? "validation images" : "nothing (no validation images either)");
  }
  if (evaluated) std::fputs(evaluation.confusion_text(reported.class_names()).c_str(), stdout);

  ModelInfo info = model_info(plan, val_accuracy, test_accuracy);
  if (!has_test) info.extra.erase("test_accuracy");
  add_early_stopping_info(info, plan, session);
  // Only for data-parallel runs, so that one process keeps writing the same bytes.
  if (plan.processes->size() > 1) info.extra["processes"] = std::to_string(plan.processes->size());
  std::vector<std::filesystem::path> files = {"run.json", "metrics.csv", "model.safetensors"};
  // The trained network with its description, saved as the library's Model (model.hpp).
  const Model trained(std::move(plan.model), info);
  trained.save(plan.run / "model.safetensors");
  if (!plan.args.save.empty()) {
    trained.save(plan.args.save);
    std::printf("saved model to %s\n", plan.args.save.c_str());
  }
  if (evaluated) {
    write_test_results(plan.run, reported, evaluation);
    files.insert(files.end(), {"test_predictions.csv", "samples.png"});
    const GreyDrawing grey =
        info.preparation == Preparation::digit ? GreyDrawing::ink_on_paper : GreyDrawing::as_is;
    for (const auto& picture :
         draw_run_pictures(plan.run, plan.run.filename().string(), reported.class_names(), grey)) {
      files.push_back(picture.filename());
    }
  }
  print_summary(plan, session, test_accuracy, files);

  const RunProgress& progress = plan.progress;
  record.set("iterations", result.iterations);
  record.set("planned_iterations", plan.iterations.total);
  record.set("training_seconds", session.training_seconds);
  if (progress.best_accuracy) {
    record.set("best_validation_accuracy", *progress.best_accuracy);
    record.set("best_validation_iteration", progress.best_iteration);
    record.set("final_validation_accuracy", session.final_validation_accuracy.value_or(0.0));
    record.set("final_validation_iteration", session.final_validation_iteration);
  }
  if (plan.args.early_stop > 0) {
    record.set("early_stop", plan.args.early_stop);
    record.set("stopped_early", result.stopped_early);
  }
  record.set("keep_best", plan.args.keep_best);
  record.set("no_test", plan.args.no_test);
  if (has_test) record.set("test_accuracy", test_accuracy);
  if (!plan.data.skipped.empty()) {
    record.set("skipped_images", plan.data.skipped.size());
    std::printf("summary: %zu unreadable image%s skipped (--skip-bad-images)\n",
                plan.data.skipped.size(), plan.data.skipped.size() == 1 ? "" : "s");
  }
  if (!plan.args.save.empty()) record.set("saved_model", plan.args.save);
  record.end("finished");
}

// Prepares the plan, trains, reports; after Ctrl-C says how to resume instead of reporting.
int run_train(TrainArgs args, const CLI::App& cmd, ProcessGroup& processes) {
  TrainPlan plan = prepare_plan(std::move(args), cmd, processes);
  RunRecord record(plan.run, plan.args.data.path, plan.resumed.has_value());
  record.set("processes", processes.size());
  record.set("data_format", format_name(plan.data.format));
  record.set("class_names", plan.train_set.class_names());
  record.set("preparation", preparation_name(plan.preparation));
  record.set("validation", plan.validation_text);
  record.set("input_normalization", normalization_name(plan.train_set.normalization().kind()));
  record.set("threads_per_process", num_threads());
  // Written now, not only at the end: a page following the run (cnn serve) shows its progress,
  // classes and data while it trains.
  record.set("planned_iterations", plan.iterations.total);
  record.write();
  print_plan(plan);
  CheckpointSession checkpoints = checkpoint_session(plan);
  checkpoints.set_processes(processes.size());
  // Rank 0 alone writes checkpoints; the others only train along.
  if (!plan.writes_files()) plan.options.on_checkpoint = {};
  std::fflush(stdout);
  const SessionResult session = train_model(plan, checkpoints, record);
  if (session.train.interrupted) {
    if (!plan.writes_files()) return 0;
    record.set("iterations", session.train.iterations);
    record.set("resume_command", checkpoints.resume_command(plan.args.data.path, plan.args.save));
    record.end("interrupted");
    return checkpoints.report_interrupted(session.train, plan.iterations.total, plan.args.data.path,
                                          plan.args.save);
  }
  report_run(plan, session, record);
  return 0;
}

}  // namespace

void require_data_path(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw UsageError("--data: '" + path +
                     "' not found; fetch MNIST into it with: scripts/fetch-mnist.sh " + path);
  }
}

void refuse_same_file(const std::string& output, const std::string& output_flag,
                      const std::string& other, const std::string& other_what) {
  std::error_code output_error, other_error;
  // A folder as the output is refused as such where the output is checked ("is a folder").
  if (output.empty() || other.empty() || std::filesystem::is_directory(other, other_error)) return;
  // Absolute first: weakly_canonical leaves a relative path none of whose parts exists relative.
  const std::filesystem::path a =
      std::filesystem::weakly_canonical(std::filesystem::absolute(output), output_error);
  const std::filesystem::path b =
      std::filesystem::weakly_canonical(std::filesystem::absolute(other), other_error);
  if (output_error || other_error || a != b) return;
  throw UsageError(output_flag + ": '" + output + "' is " + other_what +
                   "; writing there would destroy it; give another file name");
}

Command add_train_command(CLI::App& app, ProcessGroup& processes) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "Train a network and report its accuracy");
  add_data_flags(*cmd, args->data);
  cmd->add_option("--normalize", args->normalize,
                  "Input normalisation: unit (pixel / 255), standard (per channel: minus the "
                  "training images' mean, divided by their standard deviation) or none (0..255)")
      ->transform(one_of({"unit", "standard", "none"}))
      ->capture_default_str();
  cmd->add_option("--preparation", args->preparation,
                  "How cnn predict prepares image files for the model: digit (as MNIST's digits: "
                  "inverted, cropped, centred), resize (converted and resized), or auto (digit for "
                  "grey 28x28 images of the classes 0-9)")
      ->transform(one_of({"auto", "digit", "resize"}))
      ->capture_default_str();
  cmd->add_option("--split-seed", args->split_seed,
                  "Seed of the stratified validation split of image folders and CSV files")
      ->check(integer_at_least(0, (1LL << 62)))
      ->capture_default_str();
  auto* preset = add_preset_option(*cmd, args->preset);
  add_recipe_options(*cmd, args->recipe, preset);
  add_batch_option(*cmd, args->batch);
  auto* iterations = cmd->add_option("--iterations", args->iterations, "Mini-batches to train on")
                         ->check(integer_at_least(1))
                         ->capture_default_str();
  cmd->add_option("--epochs", args->epochs,
                  "Passes over the training set (instead of --iterations)")
      ->check(integer_at_least(1, 100000))
      ->excludes(iterations);
  cmd->add_option("--lr", args->lr, "Initial learning rate")
      ->check(number_in({0, 1e6, true, false}, "a number > 0"))
      ->capture_default_str();
  cmd->add_option("--momentum", args->momentum, "Momentum factor gamma")
      ->check(number_in({0, 1, false, true}, "a number in [0, 1)"))
      ->capture_default_str();
  cmd->add_option("--decay", args->decay, "Learning-rate decay: lr_t = lr / (1 + t * decay)")
      ->check(number_in({0, 1e6, false, false}, "a number >= 0"))
      ->capture_default_str();
  add_seed_option(*cmd, args->seed);
  cmd->add_option("--val", args->val,
                  "Training images held out for validation (default 5000, or a tenth of the "
                  "training images when they are fewer than 50,000; unused when the data has a "
                  "val/ folder or val.csv)")
      ->check(integer_at_least(0));
  add_threads_option(*cmd, args->threads);
  cmd->add_option("--report-every", args->report_every,
                  "Iterations between loss reports (default: 20 reports per run)")
      ->check(integer_at_least(1));
  cmd->add_option("--save", args->save,
                  "Also write the trained model to this safetensors file (the run folder always "
                  "gets model.safetensors)")
      ->type_name("FILE");
  cmd->add_option("--out", args->out,
                  "Run folder for the metrics log, the model and the pictures (default: a new "
                  "folder runs/<date>-<time>-<preset>)")
      ->type_name("DIR");
  cmd->add_flag("--quiet", args->quiet, "No progress bar or periodic lines while training");
  cmd->add_option("--eval-every", args->eval_every,
                  "Iterations between validation runs during training (default: 5 per run, once "
                  "per epoch with --early-stop)")
      ->check(integer_at_least(1));
  cmd->add_option("--log-every", args->log_every,
                  "Iterations between lines of the metrics log (default: 500 lines per run)")
      ->check(integer_at_least(1));
  cmd->add_option("--early-stop", args->early_stop,
                  "Stop when N validation runs in a row bring no better validation accuracy "
                  "(validates once per epoch unless --eval-every says otherwise; needs --val > 0)")
      ->check(integer_at_least(1));
  cmd->add_flag("--keep-best", args->keep_best,
                "Save the model of the validation run with the best accuracy, not the last "
                "(needs --val > 0)");
  cmd->add_flag("--no-test", args->no_test,
                "Leave the test set out: no test accuracy is computed or printed, the confusion "
                "matrix shows the validation images (for choosing settings on the validation split "
                "alone, docs/accuracy.md)");
  add_checkpoint_options(*cmd, args->checkpoints);
  return [args, cmd, &processes] { return run_train(*args, *cmd, processes); };
}

}  // namespace cnn::cli
