#include "train_session.hpp"

#include <chrono>
#include <cstdio>

#include "cnn/io/run_log.hpp"
#include "progress.hpp"

namespace cnn::cli {

SessionResult train_with_progress(Sequential& model, const Dataset& train_set,
                                  const Dataset& val_set, TrainOptions options,
                                  const IterationPlan& iterations,
                                  const SessionSettings& settings) {
  ProgressDisplay display(ProgressDisplay::detect(stdout, settings.quiet), stdout, iterations.total,
                          iterations.epochs);
  MetricsWriter metrics(settings.metrics);

  SessionResult session;
  // Loss sums since the last console line and since the last metrics line.
  double report_sum = 0.0, log_sum = 0.0;
  std::size_t report_count = 0, log_count = 0;
  options.report_every = 1;
  session.train = train(model, train_set, options, [&](const TrainProgress& p) {
    const double seconds = p.seconds - session.validation_seconds;
    report_sum += p.loss;
    log_sum += p.loss;
    ++report_count;
    ++log_count;
    display.step(p.iteration, p.epoch, p.loss, p.images, seconds);
    const bool last = p.iteration == p.total_iterations;
    char text[160];
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
      accuracy = evaluate(model, val_set);
      session.validation_seconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (!last) {
        std::snprintf(text, sizeof text, "iteration %6zu/%zu  epoch %zu  validation accuracy %.4f",
                      p.iteration, p.total_iterations, p.epoch, *accuracy);
        display.line(text);
      }
      if (last) session.final_validation_accuracy = accuracy;
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
      metrics.write(row);
      log_sum = 0.0;
      log_count = 0;
    }
  });
  display.finish();
  session.training_seconds = session.train.seconds - session.validation_seconds;
  return session;
}

}  // namespace cnn::cli
