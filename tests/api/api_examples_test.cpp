// The five tasks of docs/api.md, word for word: each TEST body below is the code the page shows,
// so the page cannot drift from what compiles and works. They use MNIST (skipped without it).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>

#include "cnn/core/parallel.hpp"
#include "cnn/data/data_source.hpp"
#include "cnn/model.hpp"
#include "temp_dir.hpp"

namespace cnn {
namespace {

class ApiExamples : public testing::TempDirTest {
 public:
  ApiExamples() : TempDirTest("cnn-api-examples") {}

 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    if (!std::filesystem::exists(std::filesystem::path(CNN_MNIST_DIR) / "t10k-labels-idx1-ubyte")) {
      GTEST_SKIP() << "MNIST not found in " << CNN_MNIST_DIR << " (scripts/fetch-mnist.sh)";
    }
    // A model for the tasks that load one (task 1 writes it the same way).
    if (!std::filesystem::exists(model_path())) train_model(model_path());
  }
  static std::filesystem::path model_path() {
    return std::filesystem::temp_directory_path() / "cnn-api-examples-lenet5.safetensors";
  }
  static void train_model(const std::filesystem::path& path) {
    // ---- task 1: train on a data folder and save ----
    const std::filesystem::path mnist = CNN_MNIST_DIR;
    cnn::DataSource data = cnn::load_data_source(mnist, cnn::DataOptions{});
    cnn::Model model = cnn::Model::create("lenet5", data.train.image_shape(), data.train.classes(),
                                          /*seed=*/1, data.train.class_names());
    cnn::ModelTrainOptions options;
    options.train.batch_size = 32;
    options.train.iterations = 300;
    options.train.report_every = 100;
    model.train(data.train, options, [](const cnn::ModelProgress& p) {
      std::printf("iteration %zu loss %.3f\n", p.train.iteration, p.train.loss);
      return true;  // false stops training after this iteration
    });
    model.save(path);
    // ---- end of task 1 ----
  }
};

TEST_F(ApiExamples, Task2ClassifyAnImageFile) {
  const std::string file =
      std::string(CNN_SOURCE_DIR) + "/tests/fixtures/digits/7-transparent-background-500x500.png";
  // ---- task 2 ----
  const cnn::Model model = cnn::Model::load(model_path());
  const cnn::Predictions result = model.predict_file(file);  // prepared as `cnn predict` does
  std::printf("%s: %s (%.3f)\n", file.c_str(), model.class_names()[result.labels[0]].c_str(),
              result.confidence(0));
  // ---- end of task 2 ----
  EXPECT_EQ(result.labels[0], 7);
}

TEST_F(ApiExamples, Task3ClassifyPixelsInMemory) {
  const cnn::Model model = cnn::Model::load(model_path());
  const cnn::Dataset test = cnn::load_mnist_test(CNN_MNIST_DIR);
  std::vector<std::uint8_t> pixels(test.image(0), test.image(0) + 2 * 784);
  // A photo of a "1": a dark stroke on white paper, 100 rows of 80 pixels.
  cnn::Image photo{1, 100, 80, std::vector<std::uint8_t>(100 * 80, 255)};
  for (std::size_t y = 15; y < 85; ++y) {
    for (std::size_t x = 36; x < 44; ++x) photo.pixels[y * 80 + x] = 30;
  }
  // ---- task 3 ----
  // Two 28x28 grey images as bytes 0..255, already in the model's shape: normalised as trained.
  const cnn::Predictions two = model.predict_pixels(pixels, 2);
  // A picture of any size (cnn::Image: planar bytes, 1 or 3 channels): prepared, then classified.
  const cnn::Predictions one = model.predict_image(photo);
  // ---- end of task 3 ----
  EXPECT_EQ(two.size(), 2u);
  EXPECT_EQ(one.labels[0], 1);
  EXPECT_EQ(two.labels[0], test.label(0));
}

TEST_F(ApiExamples, Task4EvaluateOnATestSet) {
  // ---- task 4 ----
  const cnn::Model model = cnn::Model::load(model_path());
  const cnn::Dataset test = cnn::load_mnist_test(CNN_MNIST_DIR);
  const cnn::Evaluation evaluation = model.evaluate(test);
  std::printf("accuracy %.4f\n%s", evaluation.accuracy(),
              evaluation.confusion_text(model.class_names()).c_str());
  // ---- end of task 4 ----
  EXPECT_GT(evaluation.accuracy(), 0.9);
}

TEST_F(ApiExamples, Task5LookInsideTheNetwork) {
  const cnn::Model model = cnn::Model::load(model_path());
  const cnn::Dataset test = cnn::load_mnist_test(CNN_MNIST_DIR);
  cnn::Tensor x;
  std::vector<std::int32_t> labels;
  // ---- task 5 ----
  test.with_normalization(model.normalization()).gather_range(0, 1, x, labels);
  const std::vector<cnn::Tensor> outputs = model.activations(x);
  const std::vector<std::string> layers = model.layer_names();
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    std::printf("%s -> %s\n", layers[i].c_str(), outputs[i].shape().to_string().c_str());
  }
  // ---- end of task 5 ----
  ASSERT_EQ(outputs.size(), layers.size());
  EXPECT_EQ(outputs[0].shape(), (cnn::Shape{1, 6, 28, 28}));
}

TEST_F(ApiExamples, ThreadsEachWithItsOwnModel) {
  // ---- threads ----
  cnn::set_num_threads(2);  // the library's pool, before models are used from threads
  const cnn::Model shared = cnn::Model::load(model_path());
  std::vector<cnn::Model> own;
  for (int t = 0; t < 4; ++t) own.push_back(shared.copy());  // one per thread: in parallel
  // ---- end of threads ----
  cnn::set_num_threads(1);
  EXPECT_EQ(own.size(), 4u);
}

}  // namespace
}  // namespace cnn
