// Nesterov, weight decay, Adam and AdamW, and the factory (src/optimizer.cpp, src/adam.cpp).
#include "cnn/train/optimizer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "cnn/train/adam.hpp"
#include "cnn/train/sgd.hpp"

namespace cnn {
namespace {

ScheduleOptions constant() {
  return ScheduleOptions{};  // time-based with decay 0: a constant rate
}

TEST(SGD, NesterovAndWeightDecayFollowTheirFormulas) {
  // w = 1, g = 0.5, lr 0.1, γ 0.9, λ 0.2: g' = 0.5 + 0.2 = 0.7, v = 0.07,
  // Nesterov: w = 1 − (0.9·0.07 + 0.07) = 0.867.
  Tensor w(Shape{1}), g(Shape{1});
  w[0] = 1.0f;
  g[0] = 0.5f;
  SGD nesterov({{"w", &w, &g}}, {0.1, 0.9, 0.0, 0.2, true}, LearningRateSchedule(0.1, constant()));
  nesterov.step();
  EXPECT_NEAR(w[0], 0.867, 1e-6);
  // Second step: g' = 0.5 + 0.2·0.867 = 0.6734, v = 0.063 + 0.06734 = 0.13034,
  // w = 0.867 − (0.9·0.13034 + 0.06734) = 0.682354.
  nesterov.step();
  EXPECT_NEAR(w[0], 0.682354, 1e-6);

  Tensor u(Shape{1}), gu(Shape{1});
  u[0] = 1.0f;
  gu[0] = 0.5f;
  SGD classical({{"u", &u, &gu}}, {0.1, 0.9, 0.0, 0.2, false});
  classical.step();  // v = 0.07, w = 0.93
  EXPECT_NEAR(u[0], 0.93, 1e-6);
  ASSERT_EQ(classical.state().size(), 1u);
  EXPECT_EQ(classical.state()[0].name, "u.momentum_buffer");
  EXPECT_NEAR((*classical.state()[0].value)[0], 0.07, 1e-7);
}

TEST(Adam, FirstStepsFollowTheFormula) {
  // With bias correction, the first step moves by lr·g/(|g| + ε) ≈ lr·sign(g).
  Tensor w(Shape{2}), g(Shape{2});
  w[0] = 1.0f, w[1] = -1.0f;
  g[0] = 0.5f, g[1] = -4.0f;
  Adam adam({{"w", &w, &g}}, LearningRateSchedule(0.01, constant()), 0.9, 0.999, 1e-8, 0.0, false);
  adam.step();
  EXPECT_NEAR(w[0], 0.99, 1e-6);
  EXPECT_NEAR(w[1], -0.99, 1e-6);
  // Second step with g = 0.5 again on w[0]: m = 0.9·0.05 + 0.05 = 0.095, m̂ = 0.095/0.19 = 0.5;
  // v = 0.999·0.00025 + 0.00025, v̂ = v/(1 − 0.999²) = 0.25; step = 0.01·0.5/0.5.
  adam.step();
  EXPECT_NEAR(w[0], 0.98, 1e-6);
  const auto state = adam.state();
  ASSERT_EQ(state.size(), 2u);
  EXPECT_EQ(state[0].name, "w.exp_avg");
  EXPECT_EQ(state[1].name, "w.exp_avg_sq");
  EXPECT_EQ(adam.iterations(), 2u);
}

TEST(Adam, DecoupledDecayShrinksTheWeightByLrTimesLambda) {
  // Zero gradient: Adam's own step is 0, so only the decay acts: w −= lr·λ·w.
  Tensor w(Shape{1}), g(Shape{1});
  w[0] = 2.0f;
  Adam adamw({{"w", &w, &g}}, LearningRateSchedule(0.1, constant()), 0.9, 0.999, 1e-8, 0.5, true);
  adamw.step();
  EXPECT_NEAR(w[0], 2.0 - 0.1 * 0.5 * 2.0, 1e-6);
  // Coupled (Adam with L2): the decay enters the gradient and is normalised away, a step of lr.
  Tensor u(Shape{1}), gu(Shape{1});
  u[0] = 2.0f;
  Adam adam({{"u", &u, &gu}}, LearningRateSchedule(0.1, constant()), 0.9, 0.999, 1e-8, 0.5, false);
  adam.step();
  EXPECT_NEAR(u[0], 1.9, 1e-6);
}

TEST(MakeOptimizer, PicksTheRuleAndTheSchedule) {
  Tensor w(Shape{1}), g(Shape{1});
  OptimizerOptions options;
  options.kind = OptimizerKind::adamw;
  options.weight_decay = 0.01;
  options.schedule.kind = ScheduleKind::cosine;
  auto optimizer = make_optimizer({{"w", &w, &g}}, 0.5, 0.9, 0.0, options, 100);
  EXPECT_NE(optimizer->describe().find("AdamW"), std::string::npos);
  EXPECT_DOUBLE_EQ(optimizer->current_learning_rate(), 0.5);
  optimizer->set_iterations(50);
  EXPECT_NEAR(optimizer->current_learning_rate(), 0.25, 1e-12);  // half-way down the cosine

  auto sgd = make_optimizer({{"w", &w, &g}}, 0.1, 0.9, 0.5, OptimizerOptions{}, 100);
  sgd->set_iterations(2);
  EXPECT_DOUBLE_EQ(sgd->current_learning_rate(), 0.1 / (1.0 + 2 * 0.5));  // the design's decay
  EXPECT_THROW(make_optimizer({{"w", &w, &g}}, 0.0, 0.9, 0.0, OptimizerOptions{}, 10),
               std::invalid_argument);
}

TEST(MakeOptimizer, NamesRoundTrip) {
  for (const auto& name : optimizer_names()) EXPECT_EQ(optimizer_name(parse_optimizer(name)), name);
  EXPECT_THROW(parse_optimizer("rmsprop"), std::invalid_argument);
}

TEST(Optimizer, CheckpointStateResumesAdamExactly) {
  // Two steps, a save, two more steps must equal a fresh optimizer restored from the save.
  Tensor w(Shape{2}), g(Shape{2});
  w[0] = 1.0f, w[1] = -1.0f;
  g[0] = 0.5f, g[1] = -4.0f;
  Adam straight({{"w", &w, &g}}, LearningRateSchedule(0.01, constant()), 0.9, 0.999, 1e-8, 0.0,
                false);
  straight.step();
  straight.step();
  const OptimizerState saved = straight.checkpoint_state();
  EXPECT_EQ(saved.steps, 2u);
  ASSERT_EQ(saved.tensors.size(), 2u);
  EXPECT_TRUE(saved.tensors.contains("w.exp_avg_sq"));
  Tensor w2 = w;
  straight.step();
  straight.step();

  Adam resumed({{"w", &w2, &g}}, LearningRateSchedule(0.01, constant()), 0.9, 0.999, 1e-8, 0.0,
               false);
  resumed.set_state(saved);
  resumed.step();
  resumed.step();
  EXPECT_EQ(w2[0], w[0]);
  EXPECT_EQ(w2[1], w[1]);
  EXPECT_EQ(resumed.iterations(), 4u);
}

TEST(Optimizer, SetStateRejectsAnotherOptimizersTensorsAndLeavesItself) {
  Tensor w(Shape{2}), g(Shape{2});
  g[0] = 1.0f;
  SGD sgd({{"w", &w, &g}}, SgdOptions{});
  sgd.step();
  const OptimizerState sgd_state = sgd.checkpoint_state();
  Adam adam({{"w", &w, &g}}, LearningRateSchedule(0.01, constant()), 0.9, 0.999, 1e-8, 0.0, false);
  EXPECT_THROW(adam.set_state(sgd_state), std::invalid_argument);
  EXPECT_EQ(adam.iterations(), 0u);
  OptimizerState wrong_shape = sgd_state;
  wrong_shape.tensors.at("w.momentum_buffer") = Tensor(Shape{3});
  EXPECT_THROW(sgd.set_state(wrong_shape), std::invalid_argument);
  OptimizerState extra = sgd_state;
  extra.tensors.emplace("v.momentum_buffer", Tensor(Shape{2}));
  EXPECT_THROW(sgd.set_state(extra), std::invalid_argument);
}

}  // namespace
}  // namespace cnn
