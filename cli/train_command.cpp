// cnn train: trains the plan that train_plan.cpp prepares (progress, checkpoints, Ctrl-C), then
// reports validation and test accuracy and writes the model and the run folder's pictures.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>

#include "checkpoint_options.hpp"
#include "cnn/arch/presets.hpp"
#include "cnn/core/numbers.hpp"
#include "cnn/core/parallel.hpp"
#include "cnn/io/model_file.hpp"
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

// What is about to be trained, on what and how.
void print_plan(TrainPlan& plan) {
  const TrainArgs& args = plan.args;
  std::printf("training %s '%s' on %zu images (%zu held out for validation), %zu test images\n",
              plan.custom ? "architecture" : "preset",
              plan.custom ? plan.architecture.c_str() : args.preset.c_str(), plan.train_set.size(),
              plan.val_set.size(), plan.test_set.size());
  std::printf("batch %zu, %zu iterations, lr %s, momentum %s, decay %s, seed %llu, %zu thread%s\n",
              args.batch, plan.iterations.total, format_number(args.lr).c_str(),
              format_number(args.momentum).c_str(), format_number(args.decay).c_str(),
              static_cast<unsigned long long>(args.seed), num_threads(),
              num_threads() == 1 ? "" : "s");
  std::printf("%s\n", describe_recipe(args.recipe).c_str());
  std::printf("run folder %s\n", plan.run.c_str());
  std::fputs(plan.model.summary(Shape{args.batch, 1, plan.train_set.rows(), plan.train_set.cols()})
                 .c_str(),
             stdout);
}

// Checkpoints, --resume and Ctrl-C wired into plan.options; a checkpoint records the settings.
CheckpointSession checkpoint_session(TrainPlan& plan) {
  TrainArgs& args = plan.args;
  return CheckpointSession(args.checkpoints, plan.resumed ? &plan.resumed->state : nullptr,
                           plan.model,
                           {args.preset, plan.train_set.image_shape(), plan.train_set.classes(),
                            recorded_settings(run_settings(args), args.checkpoints, num_threads(),
                                              plan.train_set.size()),
                            plan.architecture},
                           plan.options);
}

// How often the session reports, logs and validates: as the flags say, else 20 loss lines, 500
// metrics lines and 5 validation runs per run.
SessionSettings session_settings(const TrainArgs& args, std::size_t total,
                                 const std::filesystem::path& run) {
  const auto every = [total](std::size_t flag, std::size_t times) {
    return flag > 0 ? flag : std::max<std::size_t>(1, total / times);
  };
  SessionSettings settings;
  settings.quiet = args.quiet;
  settings.report_every = every(args.report_every, 20);
  settings.log_every = every(args.log_every, 500);
  settings.eval_every = every(args.eval_every, 5);
  settings.metrics = run / "metrics.csv";
  return settings;
}

// Trains the plan's model; a divergence names the last good checkpoint.
SessionResult train_model(TrainPlan& plan, const CheckpointSession& checkpoints) {
  SessionResult session;
  try {
    session =
        train_with_progress(plan.model, plan.train_set, plan.val_set, plan.options, plan.iterations,
                            session_settings(plan.args, plan.iterations.total, plan.run));
  } catch (const TrainingDiverged& e) {
    throw std::runtime_error(checkpoints.diverged_message(e));
  }
  uninstall_stop_handlers();
  return session;
}

// The model file's metadata: how the model was trained and how well it does.
ModelInfo model_info(const TrainPlan& plan, double val_accuracy, double test_accuracy) {
  const TrainArgs& args = plan.args;
  ModelInfo info{plan.custom ? "custom" : args.preset,
                 plan.train_set.image_shape(),
                 plan.train_set.classes(),
                 {},
                 plan.architecture};
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

// Times and accuracies, the confusion matrix, the model files and the run folder's pictures.
void report_run(TrainPlan& plan, const SessionResult& session) {
  const TrainResult& result = session.train;
  std::printf("training time %.3f s (%.0f images/s)\n", session.training_seconds,
              static_cast<double>(result.images) / session.training_seconds);
  if (session.validation_seconds > 0) {
    std::printf("validation during training %.3f s (not counted in the training time)\n",
                session.validation_seconds);
  }
  const double val_accuracy = session.final_validation_accuracy.value_or(0.0);
  if (plan.val_set.size() > 0) {
    std::printf("validation accuracy %.4f (%zu images)\n", val_accuracy, plan.val_set.size());
  }
  const Evaluation evaluation = evaluate_in_detail(plan.model, plan.test_set);
  const double test_accuracy = evaluation.accuracy();
  std::printf("test accuracy %.4f (%zu images)\n", test_accuracy, plan.test_set.size());
  std::fputs(evaluation.confusion_text().c_str(), stdout);

  const ModelInfo info = model_info(plan, val_accuracy, test_accuracy);
  save_model(plan.run / "model.safetensors", plan.model, info);
  if (!plan.args.save.empty()) {
    save_model(plan.args.save, plan.model, info);
    std::printf("saved model to %s\n", plan.args.save.c_str());
  }
  write_test_results(plan.run, plan.test_set, evaluation);
  std::string written;
  for (const auto& picture : draw_run_pictures(plan.run, plan.run.filename().string())) {
    written += " " + picture.filename().string();
  }
  std::printf("run folder %s: metrics.csv model.safetensors test_predictions.csv%s\n",
              plan.run.c_str(), written.c_str());
}

// Prepares the plan, trains, reports; after Ctrl-C says how to resume instead of reporting.
int run_train(TrainArgs args, const CLI::App& cmd) {
  TrainPlan plan = prepare_plan(std::move(args), cmd);
  print_plan(plan);
  const CheckpointSession checkpoints = checkpoint_session(plan);
  std::fflush(stdout);
  const SessionResult session = train_model(plan, checkpoints);
  if (session.train.interrupted) {
    return checkpoints.report_interrupted(session.train, plan.iterations.total, plan.args.data,
                                          plan.args.save);
  }
  report_run(plan, session);
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
  add_data_option(*cmd, args->data);
  std::string presets;
  for (const auto& name : preset_names()) presets += (presets.empty() ? "" : ", ") + name;
  auto* preset = cmd->add_option("--preset", args->preset, "Network architecture: " + presets)
                     ->transform(one_of(preset_names()))
                     ->type_name("NAME")
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
      ->check(number_in({0, 1e6, true, false}, "a number > 0"))
      ->capture_default_str();
  cmd->add_option("--momentum", args->momentum, "Momentum factor gamma")
      ->check(number_in({0, 1, false, true}, "a number in [0, 1)"))
      ->capture_default_str();
  cmd->add_option("--decay", args->decay, "Learning-rate decay: lr_t = lr / (1 + t * decay)")
      ->check(number_in({0, 1e6, false, false}, "a number >= 0"))
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed for the initial weights and the data order")
      ->check(integer_at_least(0, (1LL << 62)))
      ->capture_default_str();
  cmd->add_option("--val", args->val, "Training images held out for validation")
      ->check(integer_at_least(0))
      ->capture_default_str();
  add_threads_option(*cmd, args->threads);
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
