#include "cnn/train/lr_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

#include "train/kind_names.hpp"

namespace cnn {

std::vector<std::string> schedule_names() {
  return {"time", "step", "cosine", "onecycle"};
}

ScheduleKind parse_schedule(const std::string& name) {
  return kind_named<ScheduleKind>(schedule_names(), name, "learning-rate schedule");
}

std::string schedule_name(ScheduleKind kind) {
  return schedule_names()[static_cast<std::size_t>(kind)];
}

LearningRateSchedule::LearningRateSchedule(double base_rate, const ScheduleOptions& options)
    : base_(base_rate), options_(options) {
  if (!(base_rate > 0.0)) throw std::invalid_argument("learning rate must be > 0");
  switch (options.kind) {
    case ScheduleKind::time:
      if (!(options.decay >= 0.0)) throw std::invalid_argument("decay must be >= 0");
      break;
    case ScheduleKind::step:
      if (options.step_size == 0) throw std::invalid_argument("step schedule: step size is 0");
      if (!(options.gamma > 0.0)) throw std::invalid_argument("step schedule: gamma must be > 0");
      break;
    case ScheduleKind::cosine:
    case ScheduleKind::onecycle:
      if (options.total == 0) {
        throw std::invalid_argument(schedule_name(options.kind) + " schedule: total steps is 0");
      }
      if (!(options.warmup >= 0.0 && options.warmup < 1.0)) {
        throw std::invalid_argument("one-cycle warm-up must be a fraction in [0, 1)");
      }
      if (!(options.div >= 1.0) || !(options.final_div >= 1.0)) {
        throw std::invalid_argument("one-cycle div and final_div must be >= 1");
      }
      break;
  }
}

double LearningRateSchedule::at(std::size_t step) const {
  const double t = static_cast<double>(step);
  switch (options_.kind) {
    case ScheduleKind::time:
      return base_ / (1.0 + t * options_.decay);  // the design's formula, bit for bit
    case ScheduleKind::step:
      return base_ * std::pow(options_.gamma, static_cast<double>(step / options_.step_size));
    case ScheduleKind::cosine: {
      const double progress = std::min(t / static_cast<double>(options_.total), 1.0);
      return base_ * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
    }
    case ScheduleKind::onecycle: {
      const double total = static_cast<double>(options_.total);
      const double rise = options_.warmup * total;
      const double start = base_ / options_.div;
      const double end = start / options_.final_div;
      if (t < rise) return start + (base_ - start) * t / rise;
      const double fall = total - rise;
      const double progress = fall > 0.0 ? std::min((t - rise) / fall, 1.0) : 1.0;
      return end + (base_ - end) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
    }
  }
  return base_;
}

}  // namespace cnn
