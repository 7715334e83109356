// The threading contract of model.hpp: several threads predicting at once, each with its own model
// or all sharing one, get bitwise the results of a lone call. `make tsan` runs this test under
// ThreadSanitizer, which also reports any data race in the library's thread pool or the models.
#include <gtest/gtest.h>

#include <cstdint>
#include <thread>
#include <vector>

#include "cnn/core/parallel.hpp"
#include "cnn/model.hpp"

namespace cnn {
namespace {

constexpr const char* kNetwork =
    "conv(8,3,pad=1) bn relu maxpool(2) conv(8,3) relu gap fc(16) relu dropout(0.2) fc(classes)";

// A batch of `count` images of 1x12x12 bytes that differs with `seed`.
std::vector<std::uint8_t> batch_pixels(std::size_t count, std::uint64_t seed) {
  std::vector<std::uint8_t> pixels(count * 144);
  for (std::size_t i = 0; i < pixels.size(); ++i) {
    pixels[i] = static_cast<std::uint8_t>((i * 2654435761u + seed * 40503u) >> 7);
  }
  return pixels;
}

class ModelThreads : public ::testing::Test {
 protected:
  void SetUp() override { set_num_threads(2); }
  void TearDown() override { set_num_threads(1); }
};

TEST_F(ModelThreads, SeveralThreadsPredictAtOnceAndGetTheResultsOfALoneCall) {
  const Model model = Model::create(kNetwork, Shape{1, 12, 12}, 5, 3);
  constexpr std::size_t kThreads = 4, kRounds = 6, kImages = 17;
  // Every thread's batches, predicted first by this thread alone.
  std::vector<std::vector<Predictions>> expected(kThreads);
  for (std::size_t t = 0; t < kThreads; ++t) {
    for (std::size_t r = 0; r < kRounds; ++r) {
      expected[t].push_back(model.predict_pixels(batch_pixels(kImages, t * 100 + r), kImages));
    }
  }
  // Each thread with a copy of its own, and as many sharing the one model, all at once.
  std::vector<Model> copies;
  for (std::size_t t = 0; t < kThreads; ++t) copies.push_back(model.copy());
  std::vector<std::vector<Predictions>> own(kThreads), shared(kThreads);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t r = 0; r < kRounds; ++r) {
        own[t].push_back(copies[t].predict_pixels(batch_pixels(kImages, t * 100 + r), kImages));
      }
    });
    threads.emplace_back([&, t] {
      for (std::size_t r = 0; r < kRounds; ++r) {
        shared[t].push_back(model.predict_pixels(batch_pixels(kImages, t * 100 + r), kImages));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (std::size_t t = 0; t < kThreads; ++t) {
    for (std::size_t r = 0; r < kRounds; ++r) {
      EXPECT_EQ(own[t][r].logits, expected[t][r].logits) << "thread " << t << " round " << r;
      EXPECT_EQ(shared[t][r].logits, expected[t][r].logits) << "thread " << t << " round " << r;
      EXPECT_EQ(shared[t][r].labels, expected[t][r].labels);
    }
  }
}

TEST_F(ModelThreads, TrainingOneModelWhileOthersPredictChangesOnlyThatModel) {
  Model trained = Model::create(kNetwork, Shape{1, 12, 12}, 5, 4);
  const Model other = Model::create(kNetwork, Shape{1, 12, 12}, 5, 5);
  const std::vector<std::uint8_t> pixels = batch_pixels(9, 77);
  const Predictions before = other.predict_pixels(pixels, 9);
  LabelledImages images;
  images.image = Shape{1, 12, 12};
  images.pixels = batch_pixels(64, 5);
  for (std::size_t i = 0; i < 64; ++i) images.labels.push_back(static_cast<std::uint8_t>(i % 5));
  images.class_names = numbered_class_names(5);
  const Dataset data(std::move(images));
  std::thread training([&] {
    ModelTrainOptions options;
    options.train.batch_size = 8;
    options.train.iterations = 20;
    trained.train(data, options);
  });
  std::vector<Predictions> during;
  for (int i = 0; i < 10; ++i) during.push_back(other.predict_pixels(pixels, 9));
  training.join();
  for (const Predictions& p : during) EXPECT_EQ(p.logits, before.logits);
}

}  // namespace
}  // namespace cnn
