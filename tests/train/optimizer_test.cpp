// Nesterov, weight decay, Adam and AdamW, and the factory (src/train/optimizer.cpp, sgd.cpp,
// adam.cpp, make_optimizer.cpp).
#include "cnn/train/optimizer.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "cnn/arch/presets.hpp"
#include "cnn/core/parallel.hpp"
#include "cnn/train/adam.hpp"
#include "cnn/train/make_optimizer.hpp"
#include "cnn/train/sgd.hpp"
#include "kernels/kernels.hpp"

namespace cnn {
namespace {

ScheduleOptions constant() {
  return ScheduleOptions{};  // time-based with decay 0: a constant rate
}

// kind at a constant learning rate with momentum γ (sgd, nesterov) and weight decay λ.
OptimizerOptions rule(OptimizerKind kind, double learning_rate, double momentum = 0.9,
                      double weight_decay = 0.0) {
  OptimizerOptions options;
  options.kind = kind;
  options.learning_rate = learning_rate;
  options.momentum = momentum;
  options.weight_decay = weight_decay;
  options.schedule = constant();
  return options;
}

// Adam (decoupled: AdamW) with betas 0.9 0.999, ε 1e-8, at a constant learning rate.
OptimizerOptions adam_rule(double learning_rate, double weight_decay, bool decoupled) {
  return rule(decoupled ? OptimizerKind::adamw : OptimizerKind::adam, learning_rate, 0.9,
              weight_decay);
}

TEST(SGD, NesterovAndWeightDecayFollowTheirFormulas) {
  // w = 1, g = 0.5, lr 0.1, γ 0.9, λ 0.2: g' = 0.5 + 0.2 = 0.7, v = 0.07,
  // Nesterov: w = 1 − (0.9·0.07 + 0.07) = 0.867.
  Tensor w(Shape{1}), g(Shape{1});
  w[0] = 1.0f;
  g[0] = 0.5f;
  ParameterBlock block({{"w", &w, &g}});
  SGD nesterov(block, rule(OptimizerKind::nesterov, 0.1, 0.9, 0.2));
  nesterov.step();
  EXPECT_NEAR(w[0], 0.867, 1e-6);
  // Second step: g' = 0.5 + 0.2·0.867 = 0.6734, v = 0.063 + 0.06734 = 0.13034,
  // w = 0.867 − (0.9·0.13034 + 0.06734) = 0.682354.
  nesterov.step();
  EXPECT_NEAR(w[0], 0.682354, 1e-6);

  Tensor u(Shape{1}), gu(Shape{1});
  u[0] = 1.0f;
  gu[0] = 0.5f;
  ParameterBlock block_u({{"u", &u, &gu}});
  SGD classical(block_u, rule(OptimizerKind::sgd, 0.1, 0.9, 0.2));
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
  ParameterBlock block({{"w", &w, &g}});
  Adam adam(block, adam_rule(0.01, 0.0, false));
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
  ParameterBlock block({{"w", &w, &g}});
  Adam adamw(block, adam_rule(0.1, 0.5, true));
  adamw.step();
  EXPECT_NEAR(w[0], 2.0 - 0.1 * 0.5 * 2.0, 1e-6);
  // Coupled (Adam with L2): the decay enters the gradient and is normalised away, a step of lr.
  Tensor u(Shape{1}), gu(Shape{1});
  u[0] = 2.0f;
  ParameterBlock block_u({{"u", &u, &gu}});
  Adam adam(block_u, adam_rule(0.1, 0.5, false));
  adam.step();
  EXPECT_NEAR(u[0], 1.9, 1e-6);
}

TEST(MakeOptimizer, PicksTheRuleAndTheSchedule) {
  Tensor w(Shape{1}), g(Shape{1});
  ParameterBlock block({{"w", &w, &g}});
  OptimizerOptions options;
  options.kind = OptimizerKind::adamw;
  options.learning_rate = 0.5;
  options.weight_decay = 0.01;
  options.schedule.kind = ScheduleKind::cosine;
  options.schedule.decay = 0.0;
  auto optimizer = make_optimizer(block, options, 100);
  EXPECT_NE(optimizer->describe().find("AdamW"), std::string::npos);
  EXPECT_DOUBLE_EQ(optimizer->current_learning_rate(), 0.5);
  optimizer->set_iterations(50);
  EXPECT_NEAR(optimizer->current_learning_rate(), 0.25, 1e-12);  // half-way down the cosine

  OptimizerOptions design;
  design.learning_rate = 0.1;
  design.schedule.decay = 0.5;
  auto sgd = make_optimizer(block, design, 100);
  sgd->set_iterations(2);
  EXPECT_DOUBLE_EQ(sgd->current_learning_rate(), 0.1 / (1.0 + 2 * 0.5));  // the design's decay
  OptimizerOptions no_rate;
  no_rate.learning_rate = 0.0;
  EXPECT_THROW(make_optimizer(block, no_rate, 10), std::invalid_argument);
}

// The weight after two steps from w = 1 with gradients 0.5 and -1 (so that every setting,
// Adam's betas included, shows in the result).
float after_two_steps(const OptimizerOptions& options) {
  Tensor w(Shape{1}), g(Shape{1});
  w[0] = 1.0f;
  ParameterBlock block({{"w", &w, &g}});
  const auto optimizer = make_optimizer(block, options, 10);
  g[0] = 0.5f;
  optimizer->step();
  g[0] = -1.0f;
  optimizer->step();
  return w[0];
}

// options with one change made by set.
template <class Set>
OptimizerOptions with(OptimizerOptions options, Set set) {
  set(options);
  return options;
}

TEST(MakeOptimizer, EverySettingReachesTheUpdate) {
  const OptimizerOptions sgd;  // the design's
  const OptimizerOptions nesterov = with(sgd, [](auto& o) { o.kind = OptimizerKind::nesterov; });
  const OptimizerOptions adam = with(sgd, [](auto& o) { o.kind = OptimizerKind::adam; });
  const OptimizerOptions adam_l2 = with(adam, [](auto& o) { o.weight_decay = 0.1; });
  // Each pair differs in one setting, which must change the weight.
  const std::vector<std::tuple<const char*, OptimizerOptions, OptimizerOptions>> pairs = {
      {"kind nesterov", sgd, nesterov},
      {"learning rate", sgd, with(sgd, [](auto& o) { o.learning_rate = 0.02; })},
      {"momentum", sgd, with(sgd, [](auto& o) { o.momentum = 0.5; })},
      {"weight decay", sgd, with(sgd, [](auto& o) { o.weight_decay = 0.1; })},
      {"weight decay with nesterov", nesterov,
       with(nesterov, [](auto& o) { o.weight_decay = 0.1; })},
      {"time decay", sgd, with(sgd, [](auto& o) { o.schedule.decay = 0.5; })},
      {"schedule", sgd, with(sgd, [](auto& o) { o.schedule.kind = ScheduleKind::cosine; })},
      {"kind adam", sgd, adam},
      {"learning rate (adam)", adam, with(adam, [](auto& o) { o.learning_rate = 0.02; })},
      {"weight decay (adam)", adam, adam_l2},
      {"kind adamw", adam_l2, with(adam_l2, [](auto& o) { o.kind = OptimizerKind::adamw; })},
      {"beta1", adam, with(adam, [](auto& o) { o.beta1 = 0.5; })},
      {"beta2", adam, with(adam, [](auto& o) { o.beta2 = 0.5; })},
      {"epsilon", adam, with(adam, [](auto& o) { o.epsilon = 0.1; })},
  };
  for (const auto& [what, before, after] : pairs) {
    EXPECT_NE(after_two_steps(before), after_two_steps(after)) << what;
  }
}

TEST(MakeOptimizer, ChecksEverySettingOnce) {
  Tensor w(Shape{1}), g(Shape{1});
  ParameterBlock block({{"w", &w, &g}});
  const auto message = [&](OptimizerOptions options) {
    try {
      make_optimizer(block, options, 10);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  OptimizerOptions o;
  o.momentum = 1.0;
  EXPECT_EQ(message(o), "momentum must be in [0, 1)");
  o = {}, o.weight_decay = -1.0;
  EXPECT_EQ(message(o), "weight decay must be >= 0");
  o = {}, o.learning_rate = 0.0;
  EXPECT_EQ(message(o), "learning rate must be > 0");
  o = {}, o.schedule.decay = -1.0;
  EXPECT_EQ(message(o), "decay must be >= 0");
  o = {}, o.kind = OptimizerKind::adam, o.beta2 = 1.0;
  EXPECT_EQ(message(o), "betas must be in [0, 1)");
  o = {}, o.kind = OptimizerKind::adamw, o.epsilon = 0.0;
  EXPECT_EQ(message(o), "epsilon must be > 0");
}

// lenet5's weights after three steps of kind with varied gradients: through Optimizer::step (one
// kernel call over the parameter block) or, as before the block, one call per parameter tensor.
std::vector<float> lenet5_after_three_steps(OptimizerKind kind, bool per_tensor) {
  Sequential model = make_preset("lenet5", Shape{1, 28, 28}, 10);
  model.initialize(3);
  OptimizerOptions options;
  options.kind = kind;
  options.weight_decay = kind == OptimizerKind::sgd ? 0.0 : 5e-4;
  ParameterBlock& block = model.parameter_block();
  const auto optimizer = make_optimizer(block, options, 3);
  Tensor first(Shape{block.count()}), second(Shape{block.count()});
  for (std::size_t t = 1; t <= 3; ++t) {
    for (const Parameter& p : model.parameters()) {
      for (std::size_t i = 0; i < p.grad->size(); ++i) {
        (*p.grad)[i] = 1e-3f * static_cast<float>((i * 7 + t) % 23) - 0.011f;
      }
    }
    if (!per_tensor) {
      optimizer->step();
      continue;
    }
    const auto lr = static_cast<float>(options.learning_rate / (1.0 + (t - 1) * 1e-5));
    const auto c1 = static_cast<float>(1.0 - std::pow(options.beta1, double(t)));
    const auto c2 = static_cast<float>(1.0 - std::pow(options.beta2, double(t)));
    const auto wd = static_cast<float>(options.weight_decay);
    for (std::size_t i = 0; i < block.parameters().size(); ++i) {
      const Parameter& p = block.parameters()[i];
      float* s1 = first.data() + block.offset(i);
      float* s2 = second.data() + block.offset(i);
      if (kind == OptimizerKind::sgd) {
        kernels::sgd_momentum_step(p.value->data(), s1, p.grad->data(), p.value->size(), lr, 0.9f);
      } else if (kind == OptimizerKind::nesterov) {
        kernels::sgd_step(p.value->data(), s1, p.grad->data(), p.value->size(), lr, 0.9f, wd, true);
      } else {
        kernels::adam_step(p.value->data(), s1, s2, p.grad->data(), p.value->size(), lr, 0.9f,
                           0.999f, 1e-8f, c1, c2, wd, kind == OptimizerKind::adamw);
      }
    }
  }
  return {block.values(), block.values() + block.count()};
}

TEST(Optimizer, OneCallOverTheBlockGivesTheBitsOfOneCallPerTensor) {
  for (const std::size_t threads : {1, 2}) {
    set_num_threads(threads);
    for (const OptimizerKind kind :
         {OptimizerKind::sgd, OptimizerKind::nesterov, OptimizerKind::adam, OptimizerKind::adamw}) {
      EXPECT_EQ(lenet5_after_three_steps(kind, false), lenet5_after_three_steps(kind, true))
          << optimizer_name(kind) << ", " << threads << " thread(s)";
    }
  }
  set_num_threads(1);
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
  ParameterBlock block({{"w", &w, &g}});
  Adam straight(block, adam_rule(0.01, 0.0, false));
  straight.step();
  straight.step();
  const OptimizerState saved = straight.checkpoint_state();
  EXPECT_EQ(saved.steps, 2u);
  ASSERT_EQ(saved.tensors.size(), 2u);
  EXPECT_TRUE(saved.tensors.contains("w.exp_avg_sq"));
  Tensor w2 = w, g2 = g;
  straight.step();
  straight.step();

  ParameterBlock block2({{"w", &w2, &g2}});
  Adam resumed(block2, adam_rule(0.01, 0.0, false));
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
  ParameterBlock block({{"w", &w, &g}});
  SGD sgd(block, OptimizerOptions{});
  sgd.step();
  const OptimizerState sgd_state = sgd.checkpoint_state();
  Adam adam(block, adam_rule(0.01, 0.0, false));
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
