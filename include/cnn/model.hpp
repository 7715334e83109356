// cnn::Model: the high-level API. A network together with everything needed to use it — its input
// shape, input normalisation, class names and how an image file is prepared for it — loaded from
// and saved to the model files of `cnn train --save` (io/model_file.hpp). The command-line program
// does its evaluating, predicting and describing through this class; docs/api.md shows the common
// tasks in code.
//
// Threading contract (docs/api.md, "Threads"):
// - The kernels of every model share the library's one pool of num_threads() threads
//   (core/parallel.hpp). Set its size with set_num_threads before models are used from several
//   threads, never while one computes.
// - Different Model objects may be used from different threads at the same time, with no lock of
//   the caller's: each keeps its own activations. The pool serves one call at a time; a call that
//   finds it busy runs its chunks on its own thread, in the same order, so every result is
//   bitwise the one a lone call gives.
// - One Model may be shared by several threads too: its methods (const or not) lock the model's
//   own mutex, because a forward pass writes the activation buffers the model keeps. Calls on one
//   model therefore take turns; for inference in parallel give each thread its own Model (copy()).
// - network() hands out the network itself, outside that lock: use it from one thread at a time.
// tests/api/model_threads_test.cpp checks this with several threads predicting at once, and runs
// under ThreadSanitizer (`make tsan`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cnn/core/tensor.hpp"
#include "cnn/data/dataset.hpp"
#include "cnn/data/image.hpp"
#include "cnn/data/normalization.hpp"
#include "cnn/io/model_file.hpp"
#include "cnn/nn/sequential.hpp"
#include "cnn/train/evaluation.hpp"
#include "cnn/train/training.hpp"

namespace cnn {

// The results of a batch of images: for image i and class c, logits[i * classes + c] is the
// network's output and probabilities[i * classes + c] its softmax; labels[i] is the most probable
// class (the first of equal ones).
struct Predictions {
  std::size_t classes = 0;
  std::vector<float> logits;
  std::vector<float> probabilities;
  std::vector<std::int32_t> labels;

  std::size_t size() const { return labels.size(); }
  // The probability of image i's predicted class.
  float confidence(std::size_t i) const { return probabilities[i * classes + labels[i]]; }
  // Image i's probabilities, one per class.
  std::span<const float> probabilities_of(std::size_t i) const {
    return {probabilities.data() + i * classes, classes};
  }
};

// What Model::train reports every TrainOptions::report_every iterations, at every validation run
// and after the last iteration; train.loss is the mean loss of the iterations since the previous
// report.
struct ModelProgress {
  TrainProgress train;  // iteration, loss, learning rate, time, ...
  // Validation accuracy at this iteration, when a validation set was given and evaluate_every
  // made this a validation iteration (and at the last one).
  std::optional<double> validation_accuracy;
};

// Model::train's settings beyond the library's TrainOptions (batch, length, optimizer,
// augmentation, seed: training.hpp).
struct ModelTrainOptions {
  TrainOptions train;
  // Images to measure accuracy on while training (none: no validation).
  const Dataset* validation = nullptr;
  // Iterations between validation runs (0: only after the last iteration).
  std::size_t evaluate_every = 0;
};

class Model {
 public:
  // A new network from a preset name ("seed", "lenet5", "fast", "best"; presets.hpp) or text in
  // the architecture language (architecture.hpp), for images of `input` [C, H, W] and `classes`
  // outputs, initialised from seed. Class names default to "0", "1", ...; normalisation to unit
  // (pixel / 255); preparation to digit for 1x28x28 inputs named 0-9, resize otherwise.
  // Throws ArchitectureError for text that does not describe a network for this input, and
  // std::invalid_argument for a class-name list of the wrong length.
  static Model create(const std::string& preset_or_architecture, const Shape& input,
                      std::size_t classes, std::uint64_t seed = 1,
                      std::vector<std::string> class_names = {},
                      Normalization normalization = Normalization::unit());
  // From a network already built and its description (info.input, info.classes must fit it).
  Model(Sequential network, ModelInfo info);
  // Reads a model file (any format version this build loads); throws ModelFileError naming the
  // file and the problem.
  static Model load(const std::filesystem::path& path);

  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model();
  // An independent model with the same weights, buffers and description (for another thread).
  Model copy() const;

  // Writes the model file atomically (save_model); throws ModelFileError.
  void save(const std::filesystem::path& path) const;

  const ModelInfo& info() const { return info_; }
  // The description, to record class names, normalisation, preparation or settings (extra).
  ModelInfo& info() { return info_; }
  const Shape& input_shape() const { return info_.input; }  // [C, H, W]
  std::size_t classes() const { return info_.classes; }
  // One name per class ("0", "1", ... when the file holds none).
  std::vector<std::string> class_names() const { return info_.names(); }
  const Normalization& normalization() const { return info_.normalization; }
  std::size_t parameter_count() const;
  // One line per layer with its output shape and parameter count.
  std::string summary() const;
  // The network itself (layers, parameters), outside the model's lock: see the contract above.
  Sequential& network() { return *network_; }

  // ---- inference (every method below locks the model) ----
  // x: [N, C, H, W] already normalised as normalization() says. std::invalid_argument (ShapeError)
  // when an image's shape is not input_shape().
  Predictions predict(const Tensor& x) const;
  // `count` images of input_shape() as bytes 0..255 (planar, image after image), normalised as the
  // model was trained; std::invalid_argument when pixels.size() is not count · C · H · W.
  Predictions predict_pixels(std::span<const std::uint8_t> pixels, std::size_t count) const;
  // An image of any size, grey or colour (Image: 1 or 3 planar channels of bytes), prepared as
  // `cnn predict` prepares a file (prepare below), then classified.
  Predictions predict_image(const Image& image) const;
  // An image file (PNG, JPEG, PGM, PPM) read and prepared exactly as `cnn predict` does; throws
  // ImageError naming the file.
  Predictions predict_file(const std::filesystem::path& path) const;
  // The image the network sees for `image` (before normalisation), by info().preparation:
  // digit: made grey, then prepared as MNIST's digits were (prepare_digit), then converted and
  //        resized when the input is not 1x28x28;
  // resize: converted to the input's channels and resized to its height and width.
  // `name` stands for the image in messages. Throws ImageError.
  Image prepare(const Image& image, const std::string& name = "image") const;
  // The same for a file, read as `cnn predict` reads it (digit: read_image; resize:
  // read_image_natural).
  Image prepare_file(const std::filesystem::path& path) const;

  // Accuracy, confusion matrix and every prediction on `data` (whose images must have
  // input_shape(); its own normalisation is replaced by the model's, its labels must use the
  // model's classes). ShapeError when the shape or class count does not fit. tta: test-time
  // augmentation (none unless given).
  Evaluation evaluate(const Dataset& data, std::size_t batch_size = 100,
                      const TestTimeAugmentation& tta = {}) const;

  // The output of every layer for the normalised batch x: element i is layer i's output
  // ([N, C', H', W'] or [N, F]); the last is the logits. Names of the layers: layer_names().
  std::vector<Tensor> activations(const Tensor& x) const;
  // "0 conv(32,3,pad=1)"-like descriptions, one per layer, in order.
  std::vector<std::string> layer_names() const;

  // ---- training ----
  // Trains on `data` (labelled with this model's classes; its images of input_shape()) with the
  // model's normalisation, then records the settings in info().extra (batch, iterations,
  // learning_rate, optimizer, shuffle_seed, threads, the data's checksum, the last validation
  // accuracy; create() records the initialisation's seed).
  // on_progress is called as ModelProgress says; returning false stops the run after that
  // iteration (TrainResult::stopped_early set). options.train.stop_requested also stops it
  // (TrainResult::interrupted). Throws what train() throws (training.hpp).
  TrainResult train(const Dataset& data, const ModelTrainOptions& options,
                    const std::function<bool(const ModelProgress&)>& on_progress = {});

 private:
  // The lock and the network live on the heap so that a Model moves without moving them (the
  // layers hold views into the network's parameter block).
  std::unique_ptr<std::mutex> mutex_;
  std::unique_ptr<Sequential> network_;
  ModelInfo info_;
};

// The preparation a new model gets for images of `input` and these class names: digit for grey
// 28x28 images of the ten classes "0".."9", resize for everything else (`--preparation auto`).
Preparation default_preparation(const Shape& input, const std::vector<std::string>& class_names);

}  // namespace cnn
