// End to end on real MNIST (skipped, saying so, when the files are not in CNN_MNIST_DIR; the
// README's test command fetches them first).
#include <gtest/gtest.h>

#include <algorithm>

#include <filesystem>

#include "cnn/arch/presets.hpp"
#include "cnn/core/parallel.hpp"
#include "cnn/data/dataset.hpp"
#include "cnn/train/training.hpp"

namespace cnn {
namespace {

class Mnist : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::filesystem::exists(std::filesystem::path(CNN_MNIST_DIR) / "train-images-idx3-ubyte") ||
        std::filesystem::exists(std::filesystem::path(CNN_MNIST_DIR) /
                                "train-images-idx3-ubyte.gz")) {
      data_ = new MnistSplits(load_mnist(CNN_MNIST_DIR));
    }
  }
  static void TearDownTestSuite() {
    delete data_;
    data_ = nullptr;
  }
  void SetUp() override {
    if (data_ == nullptr)
      GTEST_SKIP() << "MNIST not found in " CNN_MNIST_DIR "; run scripts/fetch-mnist.sh";
    set_num_threads(1);
  }

  // Trains the seed network as `cnn train` does (last 5000 training images held out) and returns
  // its test accuracy.
  static double train_seed_network(std::uint64_t seed, TrainOptions options) {
    const Dataset train_set = data_->train.slice(0, data_->train.size() - 5000);
    Sequential model = make_preset("seed", train_set.image_shape(), 10);
    model.initialize(seed);
    options.shuffle_seed = seed ^ 0x5eedda7aULL;
    train(model, train_set, options);
    return evaluate(model, data_->test);
  }

  static MnistSplits* data_;
};

MnistSplits* Mnist::data_ = nullptr;

TEST_F(Mnist, DesignRecipeReachesTheDesignsAccuracyWithinTheSpreadOfSeeds) {
  // batch 4, 2000 iterations, lr 0.01, momentum 0.9, decay 1e-5 (the defaults). The design
  // reports one run: 0.9282 test accuracy. This recipe's result depends on the seed far more than
  // on the implementation: over seeds 1-20 it spreads 0.86-0.94 with a standard deviation of about
  // 0.017 (measured both before and after kernel changes that move the last bits), and the mean
  // of three seeds moves by a point when the last bits of a gradient change. So the design's
  // figure is checked against the spread: some seeds of 1-10 reach it, and their mean is within
  // one standard deviation of it; a broken implementation falls far below both.
  double sum = 0, best = 0;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    const double accuracy = train_seed_network(seed, TrainOptions{});
    EXPECT_GE(accuracy, 0.85) << "seed " << seed;
    sum += accuracy;
    best = std::max(best, accuracy);
  }
  EXPECT_GE(best, 0.9282);
  EXPECT_GE(sum / 10, 0.9282 - 0.017);
}

TEST_F(Mnist, OneEpochAtBatch64ReachesNinetySevenPercent) {
  // One pass at an effective step of lr/(1-γ) = 0.5 ends wherever the last batches leave it:
  // single seeds spread over about 0.959-0.978 (PyTorch with the same recipe and He
  // initialisation spreads the same way), so the requirement is on the mean of ten seeds.
  TrainOptions options;
  options.batch_size = 64;
  options.epochs = 1;
  options.optimizer.learning_rate = 0.05;
  double sum = 0;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    const double accuracy = train_seed_network(seed, options);
    EXPECT_GE(accuracy, 0.95) << "seed " << seed;
    sum += accuracy;
  }
  EXPECT_GE(sum / 10, 0.97);
}

}  // namespace
}  // namespace cnn
