// The learning-rate range test (Leslie N. Smith, "Cyclical Learning Rates for Training Neural
// Networks", 2017, section 3.3): a short run from the model's initialisation whose learning rate
// rises exponentially from a small to a large value, recording the loss at every step. The loss
// first barely moves, then falls, then climbs and diverges; a good rate lies where it still falls.
//
// The sweep trains the model it is given (it is left wherever the rising rate took it, usually
// diverged): run it on a fresh model and throw the model away afterwards.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "cnn/data/dataset.hpp"
#include "cnn/nn/sequential.hpp"
#include "cnn/train/training.hpp"

namespace cnn {

struct LrFindOptions {
  double start_rate = 1e-6;  // the rate of the first step
  double end_rate = 1.0;     // the rate of the last step (reached unless the sweep stops early)
  std::size_t steps = 200;   // steps from start_rate to end_rate, both included
  // Weight of the past in the exponential moving average of the loss (0: no smoothing). The
  // average is bias-corrected (divided by 1 - smoothing^t, as Adam does), so its first values are
  // the loss itself rather than pulled towards zero.
  double smoothing = 0.9;
  // The sweep stops once the smoothed loss exceeds this many times its minimum so far (after
  // min_steps steps), or at the first non-finite loss or gradient.
  double divergence_factor = 4.0;
  std::size_t min_steps = 10;
};

struct LrFindPoint {
  double learning_rate = 0.0;  // the rate this step was taken with
  double loss = 0.0;           // the mini-batch loss of the step (before its update)
  double smoothed = 0.0;       // bias-corrected moving average of loss up to this step
};

struct LrFindResult {
  std::vector<LrFindPoint> points;  // one per step taken, rates rising
  // Why the sweep ended before its last step: the smoothed loss passed divergence_factor times
  // its minimum, or a step produced a non-finite loss or gradient (that step is not in points).
  bool stopped_early = false;
  bool non_finite = false;
  std::size_t minimum = 0;          // index of the point with the lowest smoothed loss
  double suggested = 0.0;           // see suggest_learning_rate
  bool suggestion_clamped = false;  // the rule's rate fell below start_rate; start_rate given
};

// The rate of step i (0-based) of a sweep: start_rate · (end_rate / start_rate)^(i / (steps - 1)).
double sweep_rate(const LrFindOptions& sweep, std::size_t step);

// Throws std::invalid_argument naming the first setting out of range: rates must be finite and
// > 0 with start_rate < end_rate, steps >= 2, smoothing in [0, 1), divergence_factor > 1.
void check_lr_find_options(const LrFindOptions& sweep);

// The suggested rule: the rate at the minimum of the smoothed loss, divided by 10. At the minimum
// the loss has stopped falling and is about to climb, so a rate there is already too large for a
// whole training (and the moving average lags, placing the minimum late); a tenth of it is still
// on the falling part of the curve, and it is robust to the noise of single mini-batches (unlike
// the steepest slope, which one lucky batch can move by a decade). Clamped to the first rate of
// the sweep (suggestion_clamped) when the minimum lies within a decade of it.
double suggest_learning_rate(const std::vector<LrFindPoint>& points, double start_rate,
                             std::size_t* minimum = nullptr, bool* clamped = nullptr);

// Runs the sweep: train() (training.hpp) with `training`'s batch size, optimizer kind and
// settings, augmentation and data order, but the rate of every step set by the sweep (the
// schedule, learning rate and length of `training` are replaced; checkpoints are not taken).
// on_step, if given, sees every point as it is recorded. Throws std::invalid_argument for bad
// sweep or training options and a model that does not fit the data.
LrFindResult find_learning_rate(Sequential& model, const Dataset& data, TrainOptions training,
                                const LrFindOptions& sweep,
                                const std::function<void(const LrFindPoint&)>& on_step = {});

}  // namespace cnn
