#include "cnn/train/lr_finder.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <stdexcept>
#include <string>

#include "cnn/train/divergence.hpp"

namespace cnn {

namespace {

// The factor between the rates of two successive steps.
double rate_growth(const LrFindOptions& sweep) {
  return std::pow(sweep.end_rate / sweep.start_rate, 1.0 / static_cast<double>(sweep.steps - 1));
}

}  // namespace

double sweep_rate(const LrFindOptions& sweep, std::size_t step) {
  // The formula of the step schedule (lr_schedule.hpp) with a step size of 1 and a factor above
  // 1, which is what find_learning_rate trains with: the rates recorded are the rates used.
  return sweep.start_rate * std::pow(rate_growth(sweep), static_cast<double>(step));
}

void check_lr_find_options(const LrFindOptions& sweep) {
  if (!(std::isfinite(sweep.start_rate) && sweep.start_rate > 0.0)) {
    throw std::invalid_argument("the start rate must be a number > 0");
  }
  if (!(std::isfinite(sweep.end_rate) && sweep.end_rate > sweep.start_rate)) {
    throw std::invalid_argument("the end rate must be a number larger than the start rate");
  }
  if (sweep.steps < 2) throw std::invalid_argument("the sweep needs at least 2 steps");
  if (!(sweep.smoothing >= 0.0 && sweep.smoothing < 1.0)) {
    throw std::invalid_argument("the smoothing must be in [0, 1)");
  }
  if (!(sweep.divergence_factor > 1.0)) {
    throw std::invalid_argument("the divergence factor must be > 1");
  }
}

double suggest_learning_rate(const std::vector<LrFindPoint>& points, double start_rate,
                             std::size_t* minimum, bool* clamped) {
  if (points.empty()) throw std::invalid_argument("no points to suggest a learning rate from");
  const auto lowest = std::min_element(
      points.begin(), points.end(),
      [](const LrFindPoint& a, const LrFindPoint& b) { return a.smoothed < b.smoothed; });
  if (minimum != nullptr) *minimum = static_cast<std::size_t>(lowest - points.begin());
  const double rate = lowest->learning_rate / 10.0;
  if (clamped != nullptr) *clamped = rate < start_rate;
  return std::max(rate, start_rate);
}

LrFindResult find_learning_rate(Sequential& model, const Dataset& data, TrainOptions training,
                                const LrFindOptions& sweep,
                                const std::function<void(const LrFindPoint&)>& on_step) {
  check_lr_find_options(sweep);
  // The exponential rise is the step schedule with one step per drop and a factor above 1.
  training.optimizer.learning_rate = sweep.start_rate;
  training.optimizer.schedule = ScheduleOptions{};
  training.optimizer.schedule.kind = ScheduleKind::step;
  training.optimizer.schedule.step_size = 1;
  training.optimizer.schedule.gamma = rate_growth(sweep);
  training.iterations = sweep.steps;
  training.epochs = 0;
  training.report_every = 1;  // every step's own loss
  training.resume = nullptr;
  training.checkpoint_every = 0;
  training.on_checkpoint = {};
  // Stopping on divergence uses train()'s own way to stop between two steps.
  std::atomic<bool> diverging{false};
  training.stop_requested = &diverging;

  LrFindResult result;
  double average = 0.0, weight = 0.0, lowest = 0.0;
  const auto record = [&](const TrainProgress& progress) {
    const std::size_t index = progress.iteration - 1;
    average = sweep.smoothing * average + (1.0 - sweep.smoothing) * progress.loss;
    weight = sweep.smoothing * weight + (1.0 - sweep.smoothing);
    const LrFindPoint point{sweep_rate(sweep, index), progress.loss, average / weight};
    result.points.push_back(point);
    if (on_step) on_step(point);
    lowest = index == 0 ? point.smoothed : std::min(lowest, point.smoothed);
    if (index + 1 >= sweep.min_steps && point.smoothed > sweep.divergence_factor * lowest) {
      diverging = true;
    }
  };
  try {
    const TrainResult trained = train(model, data, training, record);
    result.stopped_early = trained.interrupted;
  } catch (const TrainingDiverged&) {
    // The step that went non-finite was not applied and is not recorded; the points before it
    // are the sweep. With none, there is nothing to suggest from.
    if (result.points.empty()) throw;
    result.stopped_early = true;
    result.non_finite = true;
  }
  result.suggested = suggest_learning_rate(result.points, sweep.start_rate, &result.minimum,
                                           &result.suggestion_clamped);
  return result;
}

}  // namespace cnn
