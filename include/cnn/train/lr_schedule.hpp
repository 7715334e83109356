// Learning-rate schedules: the learning rate of step t (0 for the first step) from a base rate.
//
//   time      lr_t = lr / (1 + t·decay)                          (the design's, the default)
//   step      lr_t = lr · γ^floor(t / step_size)
//   cosine    lr_t = lr · (1 + cos(π·t/T)) / 2                   (Loshchilov and Hutter 2017,
//                                                                  one cycle without restarts)
//   onecycle  rises linearly from lr/div to lr over the first warmup·T steps, then falls along a
//             cosine to lr/(div·final_div) at step T (Smith and Topin 2019; PyTorch's OneCycleLR
//             with its defaults div 25, final_div 1e4, without the momentum cycle)
//
// T is the total number of steps of training.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace cnn {

enum class ScheduleKind { time, step, cosine, onecycle };

struct ScheduleOptions {
  ScheduleKind kind = ScheduleKind::time;
  double decay = 0.0;         // time
  std::size_t step_size = 0;  // step: steps between drops
  double gamma = 0.1;         // step: factor at each drop
  std::size_t total = 0;      // cosine, onecycle: T
  double warmup = 0.25;       // onecycle: rising fraction of T
  double div = 25.0;          // onecycle: starting rate lr/div
  double final_div = 1e4;     // onecycle: final rate lr/(div·final_div)
};

// "time", "step", "cosine", "onecycle".
std::vector<std::string> schedule_names();
// Throws std::invalid_argument listing the known names.
ScheduleKind parse_schedule(const std::string& name);
std::string schedule_name(ScheduleKind kind);

class LearningRateSchedule {
 public:
  // Throws std::invalid_argument for a rate ≤ 0 or options that do not fit the kind (a step
  // schedule without step_size, cosine or one-cycle without total, warmup outside [0, 1)).
  LearningRateSchedule(double base_rate, const ScheduleOptions& options);
  double at(std::size_t step) const;
  double base_rate() const { return base_; }
  const ScheduleOptions& options() const { return options_; }

 private:
  double base_;
  ScheduleOptions options_;
};

}  // namespace cnn
