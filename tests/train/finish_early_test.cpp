// TrainOptions::finish_early (what cnn train's --early-stop uses): asked after each progress
// report, true ends training after that iteration as if it were the last, with no checkpoint.
#include <gtest/gtest.h>

#include <vector>

#include "cnn/nn/layers/flatten.hpp"
#include "cnn/nn/layers/linear.hpp"
#include "cnn/train/training.hpp"

namespace cnn {
namespace {

TEST(FinishEarly, EndsAfterTheIterationItSaysTrueAtWithoutACheckpoint) {
  // 40 images of 4x4 in 2 classes: enough for a few steps.
  std::vector<std::uint8_t> pixels(40 * 16), labels(40);
  for (std::size_t n = 0; n < 40; ++n) {
    labels[n] = static_cast<std::uint8_t>(n % 2);
    for (std::size_t i = 0; i < 16; ++i) pixels[n * 16 + i] = static_cast<std::uint8_t>(n * i);
  }
  const Dataset data(std::move(pixels), std::move(labels), 4, 4, 2);
  Sequential model;
  model.emplace<Flatten>();
  model.emplace<Linear>(16, 2);
  model.initialize(1);

  TrainOptions options;
  options.batch_size = 4;
  options.iterations = 100;
  options.report_every = 1;
  options.checkpoint_every = 5;
  std::vector<std::size_t> checkpoints, reports;
  options.on_checkpoint = [&](const TrainState& state) { checkpoints.push_back(state.iteration); };
  options.finish_early = [&] { return !reports.empty() && reports.back() == 12; };
  const TrainResult result =
      train(model, data, options, [&](const TrainProgress& p) { reports.push_back(p.iteration); });
  EXPECT_TRUE(result.stopped_early);
  EXPECT_FALSE(result.interrupted);
  EXPECT_EQ(result.iterations, 12u);
  EXPECT_EQ(result.images, 12u * 4u);
  EXPECT_EQ(reports.back(), 12u);
  EXPECT_EQ(checkpoints, (std::vector<std::size_t>{5, 10})) << "none at the early end";

  // Never true: the planned length.
  options.finish_early = [] { return false; };
  reports.clear();
  const TrainResult full =
      train(model, data, options, [&](const TrainProgress& p) { reports.push_back(p.iteration); });
  EXPECT_FALSE(full.stopped_early);
  EXPECT_EQ(full.iterations, 100u);
}

}  // namespace
}  // namespace cnn
