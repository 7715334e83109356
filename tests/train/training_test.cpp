#include "cnn/train/training.hpp"

#include <gtest/gtest.h>

#include "cnn/arch/presets.hpp"
#include "cnn/nn/layers/conv2d.hpp"
#include "cnn/nn/layers/flatten.hpp"
#include "cnn/nn/layers/linear.hpp"
#include "cnn/nn/layers/relu.hpp"

namespace cnn {
namespace {

// 12x12 images of 4 classes; class k has a bright 2-pixel bar at row 3k, plus noise.
Dataset bars(std::size_t count, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<std::uint8_t> pixels(count * 144), labels(count);
  for (std::size_t n = 0; n < count; ++n) {
    labels[n] = static_cast<std::uint8_t>(rng.below(4));
    for (std::size_t i = 0; i < 144; ++i)
      pixels[n * 144 + i] = static_cast<std::uint8_t>(rng.below(60));
    for (std::size_t row = 3u * labels[n]; row < 3u * labels[n] + 2u; ++row) {
      for (std::size_t col = 2; col < 10; ++col) pixels[n * 144 + row * 12 + col] = 250;
    }
  }
  return Dataset(std::move(pixels), std::move(labels), 12, 12, 4);
}

Sequential small_model() {
  Sequential model;
  model.emplace<Conv2D>(1, 2, 3, 1, 1);
  model.emplace<ReLU>();
  model.emplace<Flatten>();
  model.emplace<Linear>(2 * 144, 4);
  return model;
}

TEST(Training, LearnsASimpleTaskAndReportsProgress) {
  const Dataset train_set = bars(400, 1), test_set = bars(100, 2);
  Sequential model = small_model();
  model.initialize(1);
  const double before = evaluate(model, test_set);
  TrainOptions options;
  options.batch_size = 8;
  options.iterations = 150;
  options.optimizer.learning_rate = 0.05;
  options.optimizer.momentum = 0.9;
  options.optimizer.schedule.decay = 1e-5;
  options.report_every = 50;
  std::vector<TrainProgress> reports;
  const TrainResult result =
      train(model, train_set, options, [&](const TrainProgress& p) { reports.push_back(p); });
  ASSERT_EQ(reports.size(), 3u);
  EXPECT_EQ(reports.back().iteration, 150u);
  EXPECT_LT(reports.back().loss, reports.front().loss);
  EXPECT_NEAR(reports.back().learning_rate, 0.05 / (1 + 150 * 1e-5), 1e-12);
  EXPECT_EQ(result.images, 150u * 8u);
  EXPECT_EQ(reports[0].epoch, 1u);  // 50 batches of 8: the first pass over 400 images
  EXPECT_EQ(reports[1].epoch, 2u);
  EXPECT_EQ(reports.back().epoch, 3u);
  EXPECT_GT(evaluate(model, test_set), 0.95);
  EXPECT_LT(before, 0.6);
}

// TrainOptions::optimizer is the one place for every setting of the update: weight decay and
// Nesterov momentum set there change the weights training ends with.
TEST(Training, WeightDecayAndNesterovReachTheUpdate) {
  const Dataset data = bars(100, 4);
  const auto trained = [&](OptimizerKind kind, double weight_decay) {
    Sequential model = small_model();
    model.initialize(2);
    TrainOptions options;
    options.batch_size = 10;
    options.iterations = 5;
    options.report_every = 0;
    options.optimizer.kind = kind;
    options.optimizer.weight_decay = weight_decay;
    train(model, data, options);
    std::vector<float> weights;
    for (const Parameter& p : model.parameters()) {
      weights.insert(weights.end(), p.value->data(), p.value->data() + p.value->size());
    }
    return weights;
  };
  const std::vector<float> design = trained(OptimizerKind::sgd, 0.0);
  EXPECT_NE(trained(OptimizerKind::sgd, 0.1), design);
  EXPECT_NE(trained(OptimizerKind::nesterov, 0.0), design);
  EXPECT_EQ(trained(OptimizerKind::sgd, 0.0), design);
}

TEST(Training, SameSeedGivesBitwiseTheSameWeights) {
  const Dataset data = bars(200, 3);
  TrainOptions options;
  options.batch_size = 16;
  options.epochs = 2;
  options.shuffle_seed = 9;
  std::vector<std::vector<float>> runs;
  for (int run = 0; run < 3; ++run) {
    Sequential model = small_model();
    model.initialize(run < 2 ? 5 : 6);
    train(model, data, options);
    std::vector<float> weights;
    for (const Parameter& p : model.parameters()) {
      weights.insert(weights.end(), p.value->data(), p.value->data() + p.value->size());
    }
    runs.push_back(std::move(weights));
  }
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_NE(runs[0], runs[2]);
}

TEST(Training, EpochsCountBatchesIncludingThePartialOne) {
  TrainOptions options;
  options.batch_size = 64;
  options.epochs = 2;
  IterationPlan plan = plan_iterations(options, 55000);
  EXPECT_EQ(plan.total, 2u * 860u);
  EXPECT_EQ(plan.per_epoch, 860u);
  EXPECT_EQ(plan.epochs, 2u);
  options.epochs = 0;
  options.iterations = 2000;
  plan = plan_iterations(options, 55000);
  EXPECT_EQ(plan.total, 2000u);
  EXPECT_EQ(plan.per_epoch, 860u);
  EXPECT_EQ(plan.epochs, 3u);  // the third pass is begun, not finished
  options.batch_size = 0;
  EXPECT_THROW(plan_iterations(options, 10), std::invalid_argument);
}

TEST(Training, RejectsAModelThatDoesNotFitTheClasses) {
  const Dataset data = bars(20, 4);
  Sequential model = make_preset("seed", Shape{1, 28, 28}, 10);
  EXPECT_THROW(train(model, data, TrainOptions{}), ShapeError);  // 12x12 images into a 28x28 net
  Sequential wrong_classes;
  wrong_classes.emplace<Flatten>();
  wrong_classes.emplace<Linear>(144, 3);
  EXPECT_THROW(evaluate(wrong_classes, data), ShapeError);
}

}  // namespace
}  // namespace cnn
