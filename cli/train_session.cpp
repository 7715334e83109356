#include "train_session.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "cnn/core/numbers.hpp"
#include "cnn/io/run_log.hpp"
#include "progress.hpp"

namespace cnn::cli {

namespace {

// Round-trips exactly, so the best accuracy compares the same after a resume.
std::string exact_number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return buffer;
}

}  // namespace

CheckpointExtras RunProgress::extras() const {
  CheckpointExtras extras;
  extras.values["folder"] = folder;
  extras.values["training_seconds"] = exact_number(training_seconds);
  extras.values["evaluations"] = std::to_string(evaluations);
  extras.values["report_loss_sum"] = exact_number(report_loss_sum);
  extras.values["report_loss_count"] = std::to_string(report_loss_count);
  extras.values["log_loss_sum"] = exact_number(log_loss_sum);
  extras.values["log_loss_count"] = std::to_string(log_loss_count);
  extras.values["processes"] = std::to_string(processes);
  if (best_accuracy) {
    extras.values["best_validation_accuracy"] = exact_number(*best_accuracy);
    extras.values["best_validation_iteration"] = std::to_string(best_iteration);
    extras.values["best_validation_evaluation"] = std::to_string(best_evaluation);
    extras.values["evaluations_since_best"] = std::to_string(evaluations_since_best);
  }
  extras.best = best_weights;
  return extras;
}

RunProgress RunProgress::from(const CheckpointExtras& extras, const std::string& path) {
  RunProgress progress;
  const auto text = [&](const char* key) -> const std::string* {
    const auto it = extras.values.find(key);
    return it == extras.values.end() ? nullptr : &it->second;
  };
  const auto count = [&](const char* key) -> std::size_t {
    const std::string* value = text(key);
    if (value == nullptr) return 0;
    const auto parsed = parse_integer<std::size_t>(*value);
    if (!parsed) throw CheckpointError(path + ": run." + key + " '" + *value + "' is not a count");
    return *parsed;
  };
  const auto real = [&](const char* key) -> std::optional<double> {
    const std::string* value = text(key);
    if (value == nullptr) return std::nullopt;
    const auto parsed = parse_finite(*value);
    if (!parsed || *parsed < 0) {
      throw CheckpointError(path + ": run." + key + " '" + *value + "' is not a number >= 0");
    }
    return parsed;
  };
  if (const std::string* folder = text("folder")) progress.folder = *folder;
  progress.training_seconds = real("training_seconds").value_or(0.0);
  progress.evaluations = count("evaluations");
  progress.report_loss_sum = real("report_loss_sum").value_or(0.0);
  progress.report_loss_count = count("report_loss_count");
  progress.log_loss_sum = real("log_loss_sum").value_or(0.0);
  progress.log_loss_count = count("log_loss_count");
  // Checkpoints from before data-parallel training were written by one process.
  progress.processes = std::max<std::size_t>(1, count("processes"));
  progress.best_accuracy = real("best_validation_accuracy");
  progress.best_iteration = count("best_validation_iteration");
  progress.best_evaluation = count("best_validation_evaluation");
  progress.evaluations_since_best = count("evaluations_since_best");
  progress.best_weights = extras.best;
  return progress;
}

std::map<std::string, Tensor> weights_of(Sequential& model) {
  std::map<std::string, Tensor> weights;
  for (const Parameter& p : model.parameters()) weights.emplace(p.name, *p.value);
  for (const Buffer& b : model.buffers()) weights.emplace(b.name, *b.value);
  return weights;
}

void restore_weights(Sequential& model, const std::map<std::string, Tensor>& weights) {
  // Element by element: the parameters are views into the model's parameter block.
  const auto put = [&](const std::string& name, Tensor& into) {
    const auto saved = weights.find(name);
    if (saved == weights.end() || saved->second.size() != into.size()) {
      throw std::logic_error("the kept weights do not fit the model at '" + name + "'");
    }
    std::copy(saved->second.data(), saved->second.data() + into.size(), into.data());
  };
  for (const Parameter& p : model.parameters()) put(p.name, *p.value);
  for (const Buffer& b : model.buffers()) put(b.name, *b.value);
}

SessionResult train_with_progress(Sequential& model, const Dataset& train_set,
                                  const Dataset& val_set, TrainOptions options,
                                  const IterationPlan& iterations, const SessionSettings& settings,
                                  RunProgress& progress) {
  ProgressDisplay display(ProgressDisplay::detect(stdout, settings.quiet), stdout, iterations.total,
                          iterations.epochs);
  std::optional<MetricsWriter> metrics;
  if (!settings.metrics.empty()) metrics.emplace(settings.metrics, settings.append_metrics);

  SessionResult session;
  // The run's training time before this process (a resumed run continues its totals, so that
  // images per second, counted over the whole run, stay right).
  const double seconds_before = progress.training_seconds;
  // Loss sums since the last console line and since the last metrics line (kept in `progress`
  // for checkpoints).
  double& report_sum = progress.report_loss_sum;
  double& log_sum = progress.log_loss_sum;
  std::size_t& report_count = progress.report_loss_count;
  std::size_t& log_count = progress.log_loss_count;
  bool stop_early = false;
  options.report_every = 1;
  options.finish_early = [&stop_early] { return stop_early; };
  session.train = train(model, train_set, options, [&](const TrainProgress& p) {
    const double seconds = seconds_before + p.seconds - session.validation_seconds;
    progress.training_seconds = seconds;
    report_sum += p.loss;
    log_sum += p.loss;
    ++report_count;
    ++log_count;
    display.step(p.iteration, p.epoch, p.loss, p.images, seconds);
    const bool last = p.iteration == p.total_iterations;
    char text[200];
    if (p.iteration % settings.report_every == 0 || last) {
      std::snprintf(text, sizeof text, "iteration %6zu/%zu  epoch %zu  loss %.4f  lr %.6f  %.2f s",
                    p.iteration, p.total_iterations, p.epoch,
                    report_sum / static_cast<double>(report_count), p.learning_rate, seconds);
      display.line(text);
      report_sum = 0.0;
      report_count = 0;
    }
    std::optional<double> accuracy;
    if (val_set.size() > 0 &&
        (last || (settings.eval_every > 0 && p.iteration % settings.eval_every == 0))) {
      const auto start = std::chrono::steady_clock::now();
      // Every process of a data-parallel run validates its share (options.processes).
      accuracy = evaluate(model, val_set, 100, options.processes);
      session.validation_seconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      ++progress.evaluations;
      // Strictly better only: on a plateau the earliest of equal runs stays the best.
      if (!progress.best_accuracy || *accuracy > *progress.best_accuracy) {
        progress.best_accuracy = accuracy;
        progress.best_iteration = p.iteration;
        progress.best_evaluation = progress.evaluations;
        progress.evaluations_since_best = 0;
        if (settings.keep_best) progress.best_weights = weights_of(model);
      } else {
        ++progress.evaluations_since_best;
      }
      stop_early = settings.early_stop > 0 && !last &&
                   progress.evaluations_since_best >= settings.early_stop;
      if (!last) {
        std::snprintf(text, sizeof text, "iteration %6zu/%zu  epoch %zu  validation accuracy %.4f",
                      p.iteration, p.total_iterations, p.epoch, *accuracy);
        display.line(text);
      }
      if (last || stop_early) {
        session.final_validation_accuracy = accuracy;
        session.final_validation_iteration = p.iteration;
      }
    }
    if (p.iteration % settings.log_every == 0 || last || accuracy) {
      MetricsRow row;
      row.step = p.iteration;
      row.epoch = p.epoch;
      row.loss = log_sum / static_cast<double>(log_count);
      row.learning_rate = p.learning_rate;
      row.validation_accuracy = accuracy;
      row.images_per_second = seconds > 0 ? static_cast<double>(p.images) / seconds : 0.0;
      row.wall_seconds = seconds;
      if (metrics) metrics->write(row);
      log_sum = 0.0;
      log_count = 0;
    }
  });
  display.finish();
  session.training_seconds = seconds_before + session.train.seconds - session.validation_seconds;
  progress.training_seconds = session.training_seconds;
  return session;
}

}  // namespace cnn::cli
