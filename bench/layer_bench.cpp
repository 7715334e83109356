// Forward and backward of every layer at the shapes of the seed and LeNet-5 networks and of the
// best preset's convolutions (batch 64),
// with GFLOP/s and the fraction of one core's measured FMA peak (bench/fma_peak.hpp), and the
// training-time augmentation.
//   build/bench/layer_bench [--benchmark_filter=conv]
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "cnn/core/instruction_set.hpp"
#include "cnn/core/parallel.hpp"
#include "cnn/data/augment.hpp"
#include "cnn/nn/layers/batch_norm.hpp"
#include "cnn/nn/layers/conv2d.hpp"
#include "cnn/nn/layers/linear.hpp"
#include "cnn/nn/layers/max_pool2d.hpp"
#include "cnn/nn/layers/relu.hpp"
#include "fma_peak.hpp"

namespace cnn {
namespace {

double g_peak_gflops = 0.0;
constexpr std::size_t kBatch = 64;

Tensor filled(const Shape& shape, float value) {
  Tensor t(shape);
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = value * static_cast<float>(i % 17) - 0.5f;
  return t;
}

// Runs forward or forward+backward of layer on input [kBatch, C, H, W]; flops per iteration as
// given (0 for layers measured in elements per second).
enum class Pass { kForward, kBackward, kBackwardWeightsOnly };

void run_layer(benchmark::State& state, Layer& layer, const Shape& input, Pass pass, double flops) {
  set_num_threads(static_cast<std::size_t>(state.range(0)));
  Rng rng(1);
  layer.initialize(rng, 2.0);
  const Tensor x = filled(input, 0.01f);
  Tensor y(layer.output_shape(input));
  const Tensor dy = filled(y.shape(), 0.001f);
  Tensor dx(input);
  layer.forward(x, y, true);
  for (auto _ : state) {
    switch (pass) {
      case Pass::kForward:
        layer.forward(x, y, true);
        break;
      case Pass::kBackward:
        layer.backward(x, y, dy, &dx);
        break;
      // A network's first layer: no input gradient.
      case Pass::kBackwardWeightsOnly:
        layer.backward(x, y, dy, nullptr);
        break;
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::DoNotOptimize(dx.data());
  }
  const double iterations = static_cast<double>(state.iterations());
  state.counters["images/s"] = benchmark::Counter(iterations * kBatch, benchmark::Counter::kIsRate);
  if (flops > 0) {
    state.counters["GFLOP/s"] =
        benchmark::Counter(iterations * flops / 1e9, benchmark::Counter::kIsRate);
    state.counters["peak/thread"] = benchmark::Counter(
        iterations * flops / 1e9 / g_peak_gflops / static_cast<double>(state.range(0)),
        benchmark::Counter::kIsRate);
  }
}

double conv_flops(std::size_t c, std::size_t d, std::size_t k, std::size_t out) {
  return 2.0 * kBatch * d * out * out * c * k * k;
}

// FLOPs are the direct convolution's for either algorithm, so that the rates compare the time of
// the same convolution (Winograd's then exceed the FMA peak where it pays).
void register_conv(const char* name, std::size_t c, std::size_t d, std::size_t k, std::size_t pad,
                   std::size_t size, ConvAlgorithm algorithm = ConvAlgorithm::direct) {
  const std::size_t out = size + 2 * pad - k + 1;
  const double flops = conv_flops(c, d, k, out);
  // Backward computes dW and dX: twice the forward's multiply-adds; dW alone as many.
  for (const auto& [pass, suffix, work] :
       {std::tuple{Pass::kForward, "/forward", flops},
        {Pass::kBackward, "/backward", 2 * flops},
        {Pass::kBackwardWeightsOnly, "/backward_dw_only", flops}}) {
    benchmark::RegisterBenchmark((std::string(name) + suffix).c_str(),
                                 [=](benchmark::State& state) {
                                   Conv2D conv(c, d, k, 1, pad);
                                   conv.set_algorithm(algorithm);
                                   run_layer(state, conv, Shape{kBatch, c, size, size}, pass, work);
                                 })
        ->Arg(1)
        ->Arg(2)
        ->UseRealTime();
  }
}

void register_linear(const char* name, std::size_t in, std::size_t out) {
  const double flops = 2.0 * kBatch * in * out;
  for (bool backward : {false, true}) {
    benchmark::RegisterBenchmark(
        (std::string(name) + (backward ? "/backward" : "/forward")).c_str(),
        [=](benchmark::State& state) {
          Linear linear(in, out);
          run_layer(state, linear, Shape{kBatch, in}, backward ? Pass::kBackward : Pass::kForward,
                    backward ? 2 * flops : flops);
        })
        ->Arg(1)
        ->Arg(2)
        ->UseRealTime();
  }
}

void register_elementwise(const char* name, std::shared_ptr<Layer> layer, Shape input) {
  for (bool backward : {false, true}) {
    benchmark::RegisterBenchmark(
        (std::string(name) + (backward ? "/backward" : "/forward")).c_str(),
        [=](benchmark::State& state) {
          run_layer(state, *layer, input, backward ? Pass::kBackward : Pass::kForward, 0);
        })
        ->Arg(1)
        ->Arg(2)
        ->UseRealTime();
  }
}

// Training-time augmentation of a batch of 28x28 images: the affine moves of the best preset's
// recipe, with and without elastic distortion, in images per second.
void register_augment(const char* name, const AugmentOptions& options) {
  benchmark::RegisterBenchmark(name,
                               [=](benchmark::State& state) {
                                 set_num_threads(static_cast<std::size_t>(state.range(0)));
                                 Augmenter augmenter(options);
                                 std::vector<std::uint64_t> keys(kBatch);
                                 for (std::size_t n = 0; n < kBatch; ++n) {
                                   keys[n] = image_key(1, 1, n);
                                 }
                                 const Tensor images = filled(Shape{kBatch, 1, 28, 28}, 0.01f);
                                 Tensor x = images;
                                 for (auto _ : state) {
                                   augmenter.apply(x, keys);
                                   benchmark::DoNotOptimize(x.data());
                                 }
                                 state.counters["images/s"] = benchmark::Counter(
                                     static_cast<double>(state.iterations()) * kBatch,
                                     benchmark::Counter::kIsRate);
                               })
      ->Arg(1)
      ->Arg(2)
      ->UseRealTime();
}

}  // namespace
}  // namespace cnn

int main(int argc, char** argv) {
  using namespace cnn;
  g_peak_gflops = bench::measure_fma_peak_gflops();
  benchmark::AddCustomContext("fma_peak_gflops_per_thread", std::to_string(g_peak_gflops));
  benchmark::AddCustomContext("kernels", compiled_instruction_set().name);
  // The seed network (the design's).
  register_conv("seed/conv1x3k5", 1, 3, 5, 0, 28);
  register_elementwise("seed/relu3x24", std::make_shared<ReLU>(), Shape{kBatch, 3, 24, 24});
  register_elementwise("seed/maxpool3s2", std::make_shared<MaxPool2D>(Size2{3}, Size2{2}),
                       Shape{kBatch, 3, 24, 24});
  register_linear("seed/fc363x84", 363, 84);
  register_linear("seed/fc84x10", 84, 10);
  // LeNet-5.
  register_conv("lenet5/conv1x6k5p2", 1, 6, 5, 2, 28);
  register_elementwise("lenet5/maxpool2_6x28", std::make_shared<MaxPool2D>(Size2{2}),
                       Shape{kBatch, 6, 28, 28});
  register_conv("lenet5/conv6x16k5", 6, 16, 5, 0, 14);
  register_elementwise("lenet5/maxpool2_16x10", std::make_shared<MaxPool2D>(Size2{2}),
                       Shape{kBatch, 16, 10, 10});
  register_elementwise("best/maxpool2_32x24", std::make_shared<MaxPool2D>(Size2{2}),
                       Shape{kBatch, 32, 24, 24});
  register_elementwise("best/maxpool2_64x10", std::make_shared<MaxPool2D>(Size2{2}),
                       Shape{kBatch, 64, 10, 10});
  register_linear("lenet5/fc400x120", 400, 120);
  register_linear("lenet5/fc120x84", 120, 84);
  // The best preset's batch normalisations: after each pool (channels of 12x12 and 5x5) and
  // after fc(256).
  register_elementwise("best/bn32x12", std::make_shared<BatchNorm>(32, 2),
                       Shape{kBatch, 32, 12, 12});
  register_elementwise("best/bn64x5", std::make_shared<BatchNorm>(64, 2), Shape{kBatch, 64, 5, 5});
  register_elementwise("best/bn256", std::make_shared<BatchNorm>(256, 1), Shape{kBatch, 256});
  // Its convolutions (its pooling and linear layers are measured above at other sizes).
  register_conv("best/conv1x32k5", 1, 32, 5, 0, 28);
  register_conv("best/conv32x64k3", 32, 64, 3, 0, 12);
  // The same with Winograd's F(2x2, 3x3) (conv(64,3,algo=winograd)), and the vgg preset's three
  // convolutions of many channels, both ways.
  register_conv("best/conv32x64k3_winograd", 32, 64, 3, 0, 12, ConvAlgorithm::winograd);
  register_conv("vgg/conv32x32k3p1", 32, 32, 3, 1, 28);
  register_conv("vgg/conv32x32k3p1_winograd", 32, 32, 3, 1, 28, ConvAlgorithm::winograd);
  register_conv("vgg/conv32x64k3p1", 32, 64, 3, 1, 14);
  register_conv("vgg/conv32x64k3p1_winograd", 32, 64, 3, 1, 14, ConvAlgorithm::winograd);
  register_conv("vgg/conv64x64k3p1", 64, 64, 3, 1, 14);
  register_conv("vgg/conv64x64k3p1_winograd", 64, 64, 3, 1, 14, ConvAlgorithm::winograd);
  // The vgg preset's batch normalisations of images: after its first convolution (32 channels
  // of 28x28), after each 2x2 pool (32 of 14x14, 64 of 7x7) and after its third convolution (64
  // of 14x14).
  register_elementwise("vgg/bn32x28", std::make_shared<BatchNorm>(32, 2),
                       Shape{kBatch, 32, 28, 28});
  register_elementwise("vgg/bn32x14", std::make_shared<BatchNorm>(32, 2),
                       Shape{kBatch, 32, 14, 14});
  register_elementwise("vgg/bn64x14", std::make_shared<BatchNorm>(64, 2),
                       Shape{kBatch, 64, 14, 14});
  register_elementwise("vgg/bn64x7", std::make_shared<BatchNorm>(64, 2), Shape{kBatch, 64, 7, 7});
  // Augmentation (the best preset's recipe).
  register_augment("augment/affine", AugmentOptions{2.0, 10.0, 0.1});
  register_augment("augment/affine+elastic34s4", AugmentOptions{2.0, 10.0, 0.1, 34.0, 4.0});
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
