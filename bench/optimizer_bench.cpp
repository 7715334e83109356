// The optimizer step over the parameters of the lenet5 and best presets: SGD as the design has it,
// SGD with weight decay and Nesterov momentum, and Adam. Each rule is timed twice: as
// Optimizer::step does it now, one kernel call over the model's parameter block, and as it was
// done before the block, one call per parameter tensor (the same kernels over each parameter's
// part of the block), so both run in one binary and can be interleaved:
//   build/bench/optimizer_bench --benchmark_repetitions=10
//       --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
// (one command line).
// Beside them, the check that every gradient is finite, which the training loop runs before each
// step (check_step_is_finite: kernels::all_finite over the block).
#include <benchmark/benchmark.h>

#include <cmath>
#include <memory>

#include "cnn/arch/presets.hpp"
#include "cnn/core/parallel.hpp"
#include "cnn/train/make_optimizer.hpp"
#include "kernels/kernels.hpp"

namespace cnn {
namespace {

enum class Rule { design, nesterov_decay, adam };

OptimizerOptions options_for(Rule rule) {
  OptimizerOptions options;  // the design's SGD
  if (rule == Rule::nesterov_decay) {
    options.kind = OptimizerKind::nesterov;
    options.weight_decay = 5e-4;
  }
  if (rule == Rule::adam) options.kind = OptimizerKind::adam;
  return options;
}

// A model of the preset with small non-zero gradients everywhere.
Sequential model_with_gradients(const char* preset) {
  Sequential model = make_preset(preset, Shape{1, 28, 28}, 10);
  model.initialize(1);
  for (const Parameter& p : model.parameters()) {
    for (std::size_t i = 0; i < p.grad->size(); ++i) (*p.grad)[i] = 1e-3f * float(i % 13) - 6e-3f;
  }
  return model;
}

void one_call(benchmark::State& state, const char* preset, Rule rule) {
  set_num_threads(static_cast<std::size_t>(state.range(0)));
  Sequential model = model_with_gradients(preset);
  const auto optimizer = make_optimizer(model.parameter_block(), options_for(rule), 0);
  for (auto _ : state) {
    optimizer->step();
    benchmark::DoNotOptimize(model.parameter_block().values());
  }
  state.counters["parameters"] = static_cast<double>(model.parameter_count());
}

// The loop Optimizer::step ran before the parameter block: the same kernels, one call per tensor.
void per_tensor(benchmark::State& state, const char* preset, Rule rule) {
  set_num_threads(static_cast<std::size_t>(state.range(0)));
  Sequential model = model_with_gradients(preset);
  const ParameterBlock& block = model.parameter_block();
  const OptimizerOptions o = options_for(rule);
  Tensor first(Shape{block.count()}), second(Shape{block.count()});  // v, or Adam's m and v
  const auto lr = static_cast<float>(o.learning_rate);
  std::size_t t = 0;
  for (auto _ : state) {
    ++t;
    const auto c1 = static_cast<float>(1.0 - std::pow(o.beta1, static_cast<double>(t)));
    const auto c2 = static_cast<float>(1.0 - std::pow(o.beta2, static_cast<double>(t)));
    for (std::size_t i = 0; i < block.parameters().size(); ++i) {
      const Parameter& p = block.parameters()[i];
      float* state1 = first.data() + block.offset(i);
      float* state2 = second.data() + block.offset(i);
      switch (rule) {
        case Rule::design:
          kernels::sgd_momentum_step(p.value->data(), state1, p.grad->data(), p.value->size(), lr,
                                     static_cast<float>(o.momentum));
          break;
        case Rule::nesterov_decay:
          kernels::sgd_step(p.value->data(), state1, p.grad->data(), p.value->size(), lr,
                            static_cast<float>(o.momentum), static_cast<float>(o.weight_decay),
                            true);
          break;
        case Rule::adam:
          kernels::adam_step(p.value->data(), state1, state2, p.grad->data(), p.value->size(), lr,
                             static_cast<float>(o.beta1), static_cast<float>(o.beta2),
                             static_cast<float>(o.epsilon), c1, c2, 0.0f, false);
          break;
      }
    }
    benchmark::DoNotOptimize(block.values());
  }
  state.counters["parameters"] = static_cast<double>(model.parameter_count());
}

// kernels::all_finite over the preset's gradient block, as check_step_is_finite calls it.
void finite_check(benchmark::State& state, const char* preset) {
  Sequential model = model_with_gradients(preset);
  const ParameterBlock& block = model.parameter_block();
  for (auto _ : state) {
    benchmark::DoNotOptimize(kernels::all_finite(block.gradients(), block.count()));
  }
  state.counters["parameters"] = static_cast<double>(model.parameter_count());
}
BENCHMARK_CAPTURE(finite_check, seed, "seed");
BENCHMARK_CAPTURE(finite_check, lenet5, "lenet5");
BENCHMARK_CAPTURE(finite_check, best, "best");

// Names "one_call/lenet5/design/1" (threads last); clang-format would space the slashes.
// clang-format off
#define CNN_OPTIMIZER_BENCH(preset, rule)                                        \
  BENCHMARK_CAPTURE(one_call, preset/rule, #preset, Rule::rule)->Arg(1)->Arg(2); \
  BENCHMARK_CAPTURE(per_tensor, preset/rule, #preset, Rule::rule)->Arg(1)->Arg(2)
// clang-format on

CNN_OPTIMIZER_BENCH(lenet5, design);
CNN_OPTIMIZER_BENCH(lenet5, nesterov_decay);
CNN_OPTIMIZER_BENCH(lenet5, adam);
CNN_OPTIMIZER_BENCH(best, design);
CNN_OPTIMIZER_BENCH(best, nesterov_decay);
CNN_OPTIMIZER_BENCH(best, adam);

}  // namespace
}  // namespace cnn

BENCHMARK_MAIN();
