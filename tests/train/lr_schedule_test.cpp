#include "cnn/train/lr_schedule.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

namespace cnn {
namespace {

TEST(LearningRateSchedule, TimeBasedIsTheDesignsFormula) {
  ScheduleOptions options;
  options.decay = 1e-3;
  const LearningRateSchedule schedule(0.01, options);
  EXPECT_EQ(schedule.at(0), 0.01);
  EXPECT_EQ(schedule.at(1000), 0.01 / (1.0 + 1000.0 * 1e-3));  // bit for bit
}

TEST(LearningRateSchedule, StepDropsByGammaEveryStepSize) {
  ScheduleOptions options;
  options.kind = ScheduleKind::step;
  options.step_size = 10;
  options.gamma = 0.5;
  const LearningRateSchedule schedule(1.0, options);
  EXPECT_DOUBLE_EQ(schedule.at(9), 1.0);
  EXPECT_DOUBLE_EQ(schedule.at(10), 0.5);
  EXPECT_DOUBLE_EQ(schedule.at(25), 0.25);
}

TEST(LearningRateSchedule, CosineFallsFromTheRateToZero) {
  ScheduleOptions options;
  options.kind = ScheduleKind::cosine;
  options.total = 100;
  const LearningRateSchedule schedule(2.0, options);
  EXPECT_DOUBLE_EQ(schedule.at(0), 2.0);
  EXPECT_NEAR(schedule.at(25), 1.0 + std::cos(std::numbers::pi / 4), 1e-12);
  EXPECT_NEAR(schedule.at(100), 0.0, 1e-12);
  EXPECT_NEAR(schedule.at(150), 0.0, 1e-12);
}

TEST(LearningRateSchedule, OneCycleRisesThenAnneals) {
  ScheduleOptions options;
  options.kind = ScheduleKind::onecycle;
  options.total = 100;
  options.warmup = 0.2;
  const LearningRateSchedule schedule(1.0, options);
  EXPECT_DOUBLE_EQ(schedule.at(0), 1.0 / 25);
  EXPECT_NEAR(schedule.at(10), (1.0 / 25 + 1.0) / 2, 1e-12);        // half-way up
  EXPECT_DOUBLE_EQ(schedule.at(20), 1.0);                           // the peak
  EXPECT_NEAR(schedule.at(60), (1.0 + 1.0 / 25 / 1e4) / 2, 1e-12);  // half-way down
  EXPECT_NEAR(schedule.at(100), 1.0 / 25 / 1e4, 1e-15);
  for (std::size_t t = 1; t <= 20; ++t) EXPECT_GT(schedule.at(t), schedule.at(t - 1));
  for (std::size_t t = 21; t <= 100; ++t) EXPECT_LT(schedule.at(t), schedule.at(t - 1));
}

TEST(LearningRateSchedule, RejectsOptionsThatDoNotFit) {
  ScheduleOptions step;
  step.kind = ScheduleKind::step;
  EXPECT_THROW(LearningRateSchedule(0.1, step), std::invalid_argument);  // no step size
  ScheduleOptions cosine;
  cosine.kind = ScheduleKind::cosine;
  EXPECT_THROW(LearningRateSchedule(0.1, cosine), std::invalid_argument);  // no total
  ScheduleOptions onecycle;
  onecycle.kind = ScheduleKind::onecycle;
  onecycle.total = 10;
  onecycle.warmup = 1.0;
  EXPECT_THROW(LearningRateSchedule(0.1, onecycle), std::invalid_argument);
  EXPECT_THROW(LearningRateSchedule(-1.0, ScheduleOptions{}), std::invalid_argument);
  EXPECT_THROW(parse_schedule("linear"), std::invalid_argument);
  for (const auto& name : schedule_names()) EXPECT_EQ(schedule_name(parse_schedule(name)), name);
}

}  // namespace
}  // namespace cnn
