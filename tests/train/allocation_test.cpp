// After warm-up, a training step allocates nothing: activations, gradients and workspaces are
// sized on the first steps and reused (fresh pages cost about 12 µs per 4 KiB to touch on these
// machines). This executable replaces the global operator new to count every allocation,
// tensors included (they use aligned operator new).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "cnn/arch/architecture.hpp"
#include "cnn/arch/presets.hpp"
#include "cnn/core/parallel.hpp"
#include "cnn/train/training.hpp"

namespace {
std::atomic<std::size_t> g_allocations{0};

void* counted(std::size_t size, std::size_t alignment) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  const std::size_t rounded = (size + alignment - 1) / alignment * alignment;
  void* p = alignment <= alignof(std::max_align_t)
                ? std::malloc(size ? size : 1)
                : std::aligned_alloc(alignment, rounded ? rounded : alignment);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
}  // namespace

// The replacements below pair malloc with free on purpose; GCC's -Wmismatched-new-delete sees a
// free() of memory that came from operator new and cannot tell that this operator new is ours.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  return counted(size, alignof(std::max_align_t));
}
void* operator new[](std::size_t size) {
  return counted(size, alignof(std::max_align_t));
}
void* operator new(std::size_t size, std::align_val_t a) {
  return counted(size, std::size_t(a));
}
void* operator new[](std::size_t size, std::align_val_t a) {
  return counted(size, std::size_t(a));
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

#pragma GCC diagnostic pop

namespace cnn {
namespace {

Dataset random_digits(std::size_t count) {
  Rng rng(1);
  std::vector<std::uint8_t> pixels(count * 784), labels(count);
  for (auto& p : pixels) p = static_cast<std::uint8_t>(rng.below(256));
  for (auto& l : labels) l = static_cast<std::uint8_t>(rng.below(10));
  return Dataset(std::move(pixels), std::move(labels), 28, 28, 10);
}

class Allocations : public ::testing::TestWithParam<std::tuple<const char*, std::size_t>> {};

TEST_P(Allocations, NonePerTrainingStepAfterWarmUp) {
  const auto [preset, threads] = GetParam();
  set_num_threads(threads);
  // 150 images at batch 64: batches of 64, 64 and 22, so the steps cover a smaller last batch
  // and the reshuffle at the start of each epoch.
  const Dataset data = random_digits(150);
  Sequential model = make_preset(preset, data.image_shape(), 10);
  model.initialize(1);
  TrainOptions options;
  options.batch_size = 64;
  options.iterations = 12;
  options.report_every = 1;
  std::vector<std::size_t> counts;
  counts.reserve(options.iterations);
  train(model, data, options,
        [&](const TrainProgress&) { counts.push_back(g_allocations.load()); });
  set_num_threads(1);
  ASSERT_EQ(counts.size(), 12u);
  // Steps 4 to 12 (after one full epoch of warm-up) allocate nothing.
  EXPECT_EQ(counts.back() - counts[2], 0u)
      << "allocations during steps 4-12 with " << preset << ", " << threads << " thread(s)";
}

INSTANTIATE_TEST_SUITE_P(Presets, Allocations,
                         ::testing::Combine(::testing::Values("seed", "lenet5", "fast"),
                                            ::testing::Values(std::size_t{1}, std::size_t{2})));

// Every other layer, AdamW with a one-cycle schedule, and augmentation (elastic distortion
// included): none allocates per step.
TEST(AllocationsOfTheRecipeTools, NonePerTrainingStepAfterWarmUp) {
  set_num_threads(2);
  const Dataset data = random_digits(150);
  Sequential model = build_architecture(
      "conv(4,3,pad=1) bn leakyrelu avgpool(2) conv(4,3) bn tanh dropout(0.3) gap fc(16) bn "
      "sigmoid fc(classes)",
      data.image_shape(), 10);
  model.initialize(1);
  TrainOptions options;
  options.batch_size = 64;
  options.iterations = 12;
  options.report_every = 1;
  options.optimizer.kind = OptimizerKind::adamw;
  options.optimizer.weight_decay = 1e-4;
  options.optimizer.schedule.kind = ScheduleKind::onecycle;
  options.augment = {2.0, 10.0, 0.1, 8.0, 3.0};
  std::vector<std::size_t> counts;
  counts.reserve(options.iterations);
  train(model, data, options,
        [&](const TrainProgress&) { counts.push_back(g_allocations.load()); });
  set_num_threads(1);
  ASSERT_EQ(counts.size(), 12u);
  EXPECT_EQ(counts.back() - counts[2], 0u);
}

}  // namespace
}  // namespace cnn
