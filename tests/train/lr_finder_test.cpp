// The learning-rate range test on a tiny synthetic problem: the rates rise geometrically, the
// sweep stops when the loss diverges, and its suggestion trains the problem.
#include "cnn/train/lr_finder.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "cnn/core/rng.hpp"
#include "cnn/nn/layers/conv2d.hpp"
#include "cnn/nn/layers/flatten.hpp"
#include "cnn/nn/layers/linear.hpp"
#include "cnn/nn/layers/relu.hpp"

namespace cnn {
namespace {

// 12x12 images of 4 classes; class k has a bright 2-pixel bar at row 3k, plus noise (as in
// training_test.cpp). Every noisy_every-th image gets a random label instead (0: none): without
// those the classes are separable, and the loss keeps falling towards zero at any rate, however
// large, because a large step only scales the separating weights up.
Dataset bars(std::size_t count, std::uint64_t seed, std::size_t noisy_every = 0) {
  Rng rng(seed);
  std::vector<std::uint8_t> pixels(count * 144), labels(count);
  for (std::size_t n = 0; n < count; ++n) {
    labels[n] = static_cast<std::uint8_t>(rng.below(4));
    for (std::size_t i = 0; i < 144; ++i)
      pixels[n * 144 + i] = static_cast<std::uint8_t>(rng.below(60));
    for (std::size_t row = 3u * labels[n]; row < 3u * labels[n] + 2u; ++row) {
      for (std::size_t col = 2; col < 10; ++col) pixels[n * 144 + row * 12 + col] = 250;
    }
    if (noisy_every > 0 && n % noisy_every == 0)
      labels[n] = static_cast<std::uint8_t>(rng.below(4));
  }
  return Dataset(std::move(pixels), std::move(labels), 12, 12, 4);
}

Sequential small_model(std::uint64_t seed) {
  Sequential model;
  model.emplace<Conv2D>(1, 2, 3, 1, 1);
  model.emplace<ReLU>();
  model.emplace<Flatten>();
  model.emplace<Linear>(2 * 144, 4);
  model.initialize(seed);
  return model;
}

TrainOptions sgd_options() {
  TrainOptions options;
  options.batch_size = 8;
  options.optimizer.kind = OptimizerKind::sgd;
  options.optimizer.momentum = 0.9;
  return options;
}

TEST(LrFinder, RatesRiseGeometricallyFromStartToEnd) {
  LrFindOptions sweep;
  sweep.start_rate = 1e-5;
  sweep.end_rate = 1e-3;
  sweep.steps = 30;
  sweep.divergence_factor = 1e9;  // a range too low to diverge; never stop
  const Dataset data = bars(200, 1);
  Sequential model = small_model(1);
  const LrFindResult result = find_learning_rate(model, data, sgd_options(), sweep);
  ASSERT_EQ(result.points.size(), 30u);
  EXPECT_FALSE(result.stopped_early);
  EXPECT_DOUBLE_EQ(result.points.front().learning_rate, 1e-5);
  EXPECT_NEAR(result.points.back().learning_rate, 1e-3, 1e-12);
  const double growth = std::pow(100.0, 1.0 / 29.0);
  for (std::size_t i = 1; i < result.points.size(); ++i) {
    EXPECT_NEAR(result.points[i].learning_rate / result.points[i - 1].learning_rate, growth, 1e-9)
        << "step " << i;
    EXPECT_DOUBLE_EQ(result.points[i].learning_rate, sweep_rate(sweep, i));
  }
  // Every loss is recorded, the first smoothed value being the first loss itself (the moving
  // average's start-up bias is corrected).
  EXPECT_DOUBLE_EQ(result.points.front().smoothed, result.points.front().loss);
  for (const LrFindPoint& p : result.points) EXPECT_TRUE(std::isfinite(p.loss) && p.loss > 0);
}

TEST(LrFinder, StopsEarlyWhenTheLossDiverges) {
  LrFindOptions sweep;
  sweep.start_rate = 1e-4;
  sweep.end_rate = 1e4;
  sweep.steps = 200;
  const Dataset data = bars(400, 2, 4);
  Sequential model = small_model(2);
  const LrFindResult result = find_learning_rate(model, data, sgd_options(), sweep);
  EXPECT_TRUE(result.stopped_early);
  ASSERT_LT(result.points.size(), 200u);
  ASSERT_GE(result.points.size(), sweep.min_steps);
  // Stopped at the first step past 4x the minimum, or at a non-finite loss (not recorded).
  const LrFindPoint& last = result.points.back();
  if (!result.non_finite) {
    EXPECT_GT(last.smoothed, 4.0 * result.points[result.minimum].smoothed);
    for (std::size_t i = sweep.min_steps - 1; i + 1 < result.points.size(); ++i) {
      double lowest = result.points[0].smoothed;
      for (std::size_t j = 0; j <= i; ++j) lowest = std::min(lowest, result.points[j].smoothed);
      EXPECT_LE(result.points[i].smoothed, 4.0 * lowest) << "should have stopped at step " << i;
    }
  }
  EXPECT_LT(last.learning_rate, sweep.end_rate);
}

TEST(LrFinder, SuggestionLiesInTheRangeBelowDivergenceAndTrains) {
  LrFindOptions sweep;
  sweep.start_rate = 1e-5;
  sweep.end_rate = 100;
  sweep.steps = 150;
  const Dataset data = bars(400, 3, 4), test_set = bars(200, 4);
  Sequential probe = small_model(3);
  const LrFindResult result = find_learning_rate(probe, data, sgd_options(), sweep);
  ASSERT_TRUE(result.stopped_early);
  const double diverged_at = result.points.back().learning_rate;
  EXPECT_GE(result.suggested, sweep.start_rate);
  EXPECT_LE(result.suggested, sweep.end_rate);
  EXPECT_LT(result.suggested, diverged_at);
  EXPECT_FALSE(result.suggestion_clamped);
  EXPECT_DOUBLE_EQ(result.suggested, result.points[result.minimum].learning_rate / 10);
  for (const LrFindPoint& p : result.points) {
    EXPECT_GE(p.smoothed, result.points[result.minimum].smoothed);
  }

  // A fresh model trained at the suggested rate learns the task.
  Sequential model = small_model(3);
  TrainOptions options = sgd_options();
  options.iterations = 150;
  options.report_every = 0;
  options.optimizer.learning_rate = result.suggested;
  train(model, data, options);
  EXPECT_GT(evaluate(model, test_set), 0.9) << "suggested " << result.suggested;
}

TEST(LrFinder, SuggestionIsATenthOfTheMinimumClampedToTheStart) {
  std::vector<LrFindPoint> points;
  const double losses[] = {2.3, 2.2, 1.5, 0.8, 0.6, 0.9, 3.0};
  for (std::size_t i = 0; i < 7; ++i) {
    const double rate = std::pow(10.0, static_cast<double>(i) - 5);  // 1e-5 .. 10
    points.push_back({rate, losses[i], losses[i]});
  }
  std::size_t minimum = 99;
  bool clamped = true;
  EXPECT_DOUBLE_EQ(suggest_learning_rate(points, 1e-5, &minimum, &clamped), 1e-2);
  EXPECT_EQ(minimum, 4u);
  EXPECT_FALSE(clamped);
  // The minimum at the first rate: a tenth of it lies below the sweep, so the start is given.
  points[0].smoothed = 0.1;
  EXPECT_DOUBLE_EQ(suggest_learning_rate(points, 1e-5, &minimum, &clamped), 1e-5);
  EXPECT_EQ(minimum, 0u);
  EXPECT_TRUE(clamped);
  EXPECT_THROW(suggest_learning_rate({}, 1e-5), std::invalid_argument);
}

TEST(LrFinder, BadSettingsAreRefusedByName) {
  const auto message = [](LrFindOptions sweep) {
    try {
      check_lr_find_options(sweep);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  LrFindOptions sweep;
  EXPECT_EQ(message(sweep), "accepted");
  sweep.start_rate = 0;
  EXPECT_NE(message(sweep).find("start rate"), std::string::npos);
  sweep = {};
  sweep.end_rate = sweep.start_rate;
  EXPECT_NE(message(sweep).find("end rate"), std::string::npos);
  sweep = {};
  sweep.end_rate = INFINITY;
  EXPECT_NE(message(sweep).find("end rate"), std::string::npos);
  sweep = {};
  sweep.steps = 1;
  EXPECT_NE(message(sweep).find("2 steps"), std::string::npos);
  sweep = {};
  sweep.smoothing = 1;
  EXPECT_NE(message(sweep).find("smoothing"), std::string::npos);
  sweep = {};
  sweep.divergence_factor = 1;
  EXPECT_NE(message(sweep).find("divergence"), std::string::npos);

  // The sweep checks them before training.
  const Dataset data = bars(20, 5);
  Sequential model = small_model(5);
  sweep = {};
  sweep.steps = 0;
  EXPECT_THROW(find_learning_rate(model, data, sgd_options(), sweep), std::invalid_argument);
}

}  // namespace
}  // namespace cnn
