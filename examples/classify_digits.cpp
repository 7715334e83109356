// Trains a small network on MNIST, saves it, loads it back and classifies an image file with it:
// the C++ API (cnn/model.hpp) from a project of its own (examples/CMakeLists.txt).
//
//   classify_digits MNIST_DIR IMAGE MODEL_OUT
//
// MNIST_DIR holds the four MNIST files (scripts/fetch-mnist.sh), IMAGE is a drawing of a digit
// (PNG, JPEG, PGM or PPM), MODEL_OUT where the model file goes. Exit status 1 on any error.
#include <cstdlib>
#include <exception>
#include <iostream>

#include "cnn/model.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: classify_digits MNIST_DIR IMAGE MODEL_OUT\n";
    return 2;
  }
  try {
    const cnn::MnistSplits mnist = cnn::load_mnist(argv[1]);

    // LeNet-5 for 28x28 grey images of ten classes, trained for 300 batches of 32.
    cnn::Model model = cnn::Model::create("lenet5", cnn::Shape{1, 28, 28}, 10);
    cnn::ModelTrainOptions options;
    options.train.iterations = 300;
    options.train.batch_size = 32;
    options.train.report_every = 100;
    model.train(mnist.train, options, [](const cnn::ModelProgress& progress) {
      std::cout << "iteration " << progress.train.iteration << ": loss " << progress.train.loss
                << "\n";
      return true;  // false would stop the run here
    });
    model.save(argv[3]);

    // The file holds everything needed to use the network: it predicts as the model did.
    const cnn::Model loaded = cnn::Model::load(argv[3]);
    const cnn::Evaluation evaluation = loaded.evaluate(mnist.test);
    if (evaluation.predicted != model.evaluate(mnist.test).predicted) {
      std::cerr << "classify_digits: the loaded model predicts differently\n";
      return 1;
    }
    std::cout << "test accuracy: " << 100.0 * evaluation.accuracy() << "%\n";

    // An image file of any size, prepared as `cnn predict` prepares it.
    const cnn::Predictions prediction = loaded.predict_file(argv[2]);
    std::cout << argv[2] << ": " << loaded.class_names()[prediction.labels[0]] << " ("
              << 100.0 * prediction.confidence(0) << "%)\n";
  } catch (const std::exception& e) {
    std::cerr << "classify_digits: " << e.what() << "\n";
    return 1;
  }
  return EXIT_SUCCESS;
}
