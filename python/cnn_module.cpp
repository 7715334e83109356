// The Python module `cnn`: cnn::Model and a few library functions for Python, over numpy arrays.
// README, "Use it from Python", shows it in use; tests/python/ checks it against the program.
//
// Conventions of every function here:
// - Images are numpy arrays. Batches are (N, H, W) for models of one channel or (N, C, H, W);
//   a dtype of uint8 means raw pixels 0..255, which are normalised as the model was trained
//   (its `normalization`); float32 means already normalised, given to the network as they are.
//   Single images for predict_image are (H, W) grey or (H, W, C) colour, as numpy and PIL hold
//   pictures; they are prepared as `cnn predict` prepares a file.
// - The GIL is released while the library computes, so other Python threads run meanwhile; the
//   training callback takes it again for its call.
// - Errors are Python exceptions carrying the library's messages (which name the file and what
//   was expected): cnn.ModelFileError, cnn.ImageError and cnn.DataError (all ValueError), other
//   bad values (shapes, architectures, options) ValueError, cnn.TrainingDiverged (RuntimeError),
//   anything else RuntimeError.
// pybind11's numpy.h (2.10) reads the array API table through a pointer GCC cannot prove non-null
// once inlined here, which -Wnull-dereference reports; the table is set up at import.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>
#pragma GCC diagnostic pop

#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cnn/arch/architecture.hpp"
#include "cnn/core/instruction_set.hpp"
#include "cnn/core/parallel.hpp"
#include "cnn/core/tensor.hpp"
#include "cnn/core/version.hpp"
#include "cnn/data/data_source.hpp"
#include "cnn/data/dataset.hpp"
#include "cnn/data/idx.hpp"
#include "cnn/data/image.hpp"
#include "cnn/data/normalization.hpp"
#include "cnn/io/model_file.hpp"
#include "cnn/model.hpp"
#include "cnn/train/divergence.hpp"
#include "cnn/train/evaluation.hpp"
#include "cnn/train/lr_schedule.hpp"
#include "cnn/train/optimizer_options.hpp"
#include "cnn/train/training.hpp"

namespace py = pybind11;

namespace {

using cnn::Model;
using cnn::Shape;

// ---- numpy <-> library -----------------------------------------------------------------------

std::string shape_text(const py::array& array) {
  std::string text = "(";
  for (py::ssize_t axis = 0; axis < array.ndim(); ++axis) {
    if (axis > 0) text += ", ";
    text += std::to_string(array.shape(axis));
  }
  return text + (array.ndim() == 1 ? ",)" : ")");
}

std::string dtype_text(const py::array& array) {
  return py::str(array.dtype()).cast<std::string>();
}

// "(N, 28, 28) or (N, 1, 28, 28)" for a grey model, "(N, 3, 32, 32)" for a colour one.
std::string batch_shapes_text(const Shape& input) {
  const std::string hw = std::to_string(input[1]) + ", " + std::to_string(input[2]);
  const std::string nchw = "(N, " + std::to_string(input[0]) + ", " + hw + ")";
  return input[0] == 1 ? "(N, " + hw + ") or " + nchw : nchw;
}

// A 1-D array of n values, copied.
template <typename T>
py::array_t<T> array_of(const std::vector<T>& values) {
  py::array_t<T> out(static_cast<py::ssize_t>(values.size()));
  if (!values.empty()) std::memcpy(out.mutable_data(), values.data(), values.size() * sizeof(T));
  return out;
}

// A rows x cols array of the values (row-major), copied.
template <typename T>
py::array_t<T> matrix_of(const std::vector<T>& values, std::size_t rows, std::size_t cols) {
  py::array_t<T> out({static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(cols)});
  if (rows * cols > 0) std::memcpy(out.mutable_data(), values.data(), rows * cols * sizeof(T));
  return out;
}

// A batch of images for the model: checked against its input shape (N any, at least 1).
struct Batch {
  py::array array;  // C-contiguous, uint8 or float32, (N, C, H, W) or (N, H, W)
  bool pixels = false;
  std::size_t count = 0;
};

Batch batch_for(const Model& model, const py::handle& images, const char* what,
                bool float_allowed = true) {
  const Shape& input = model.input_shape();
  const std::string expected = batch_shapes_text(input);
  const std::string kinds = float_allowed ? "uint8 (pixels 0..255) or float32 (already normalised)"
                                          : "uint8 (pixels 0..255)";
  if (!py::isinstance<py::array>(images)) {
    throw py::value_error(std::string(what) + ": expected a numpy array of " + kinds +
                          " of shape " + expected + ", got " +
                          py::str(py::type::of(images)).cast<std::string>());
  }
  auto array = py::reinterpret_borrow<py::array>(images);
  Batch batch;
  if (array.dtype().is(py::dtype::of<std::uint8_t>())) {
    batch.pixels = true;
    batch.array = py::array_t<std::uint8_t, py::array::c_style>::ensure(array);
  } else if (float_allowed && array.dtype().is(py::dtype::of<float>())) {
    batch.array = py::array_t<float, py::array::c_style>::ensure(array);
  } else {
    throw py::value_error(std::string(what) + ": expected images of dtype " + kinds + ", got " +
                          dtype_text(array) + " (convert with .astype(numpy.uint8) for pixels)");
  }
  const py::array& a = batch.array;
  bool fits = false;
  if (a.ndim() == 4) {
    fits = static_cast<std::size_t>(a.shape(1)) == input[0] &&
           static_cast<std::size_t>(a.shape(2)) == input[1] &&
           static_cast<std::size_t>(a.shape(3)) == input[2];
  } else if (a.ndim() == 3) {
    fits = input[0] == 1 && static_cast<std::size_t>(a.shape(1)) == input[1] &&
           static_cast<std::size_t>(a.shape(2)) == input[2];
  }
  if (!fits) {
    throw py::value_error(std::string(what) + ": expected images of shape " + expected +
                          " (the model's input is " + input.to_string() + "), got " +
                          shape_text(a));
  }
  batch.count = static_cast<std::size_t>(a.shape(0));
  if (batch.count == 0) {
    throw py::value_error(std::string(what) + ": the batch holds no images (shape " +
                          shape_text(a) + ")");
  }
  return batch;
}

// The network's input for a batch: float32 as given, uint8 normalised as the model says.
// Called without the GIL (the batch's array is kept alive by the caller).
cnn::Tensor tensor_of(const Model& model, const Batch& batch) {
  const Shape& input = model.input_shape();
  cnn::Tensor x(Shape{batch.count, input[0], input[1], input[2]});
  const std::size_t image = input.numel();
  if (batch.pixels) {
    const auto* pixels = static_cast<const std::uint8_t*>(batch.array.data());
    for (std::size_t i = 0; i < batch.count; ++i) {
      model.normalization().apply(pixels + i * image, input[0], input[1] * input[2],
                                  x.data() + i * image);
    }
  } else {
    std::memcpy(x.data(), batch.array.data(), batch.count * image * sizeof(float));
  }
  return x;
}

// Class indices as bytes for a Dataset: an integer array of `count` labels in [0, classes).
std::vector<std::uint8_t> labels_of(const py::handle& labels, std::size_t count,
                                    std::size_t classes, const char* what) {
  if (!py::isinstance<py::array>(labels) && !py::isinstance<py::sequence>(labels)) {
    throw py::value_error(std::string(what) + ": expected the labels as a 1-D integer array");
  }
  py::array array = py::array::ensure(labels);
  if (!array || array.dtype().kind() == 'b' ||
      (array.dtype().kind() != 'i' && array.dtype().kind() != 'u')) {
    throw py::value_error(std::string(what) + ": expected the labels as a 1-D integer array, got " +
                          (array ? "dtype " + dtype_text(array) : std::string("something else")));
  }
  auto values = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(array);
  if (values.ndim() != 1 || static_cast<std::size_t>(values.shape(0)) != count) {
    throw py::value_error(std::string(what) + ": expected " + std::to_string(count) +
                          " labels (one per image) of shape (" + std::to_string(count) +
                          ",), got shape " + shape_text(values));
  }
  std::vector<std::uint8_t> out(count);
  const std::int64_t* data = values.data();
  for (std::size_t i = 0; i < count; ++i) {
    if (data[i] < 0 || static_cast<std::uint64_t>(data[i]) >= classes) {
      throw py::value_error(std::string(what) + ": label " + std::to_string(data[i]) +
                            " of image " + std::to_string(i) + " is not a class of the model (0.." +
                            std::to_string(classes - 1) + ")");
    }
    out[i] = static_cast<std::uint8_t>(data[i]);
  }
  return out;
}

// A labelled data set of the model's classes from numpy pixels (uint8) and labels.
cnn::Dataset dataset_of(const Model& model, const py::handle& images, const py::handle& labels,
                        const char* what) {
  const Batch batch = batch_for(model, images, what, false);
  cnn::LabelledImages data;
  data.image = model.input_shape();
  const auto* pixels = static_cast<const std::uint8_t*>(batch.array.data());
  data.pixels.assign(pixels, pixels + batch.count * data.image.numel());
  data.labels = labels_of(labels, batch.count, model.classes(), what);
  data.class_names = model.class_names();
  return cnn::Dataset(std::move(data)).with_normalization(model.normalization());
}

// ---- normalisation and preparation as Python values -----------------------------------------

py::dict normalization_dict(const cnn::Normalization& normalization, std::size_t channels) {
  py::dict out;
  out["kind"] = cnn::normalization_name(normalization.kind());
  out["scale"] = normalization.scale();
  py::list mean, stddev;
  for (std::size_t c = 0; c < channels; ++c) {
    mean.append(normalization.mean(c));
    stddev.append(normalization.stddev(c));
  }
  out["mean"] = mean;
  out["std"] = stddev;
  return out;
}

// "unit", "none", or {"kind": "standard", "mean": [...], "std": [...]} (as `normalization` gives).
cnn::Normalization normalization_of(const py::handle& value) {
  const std::string expected =
      "expected \"unit\", \"none\" or a dict {\"kind\": \"standard\", \"mean\": [...], \"std\": "
      "[...]} (one value per channel, of pixel / 255)";
  if (py::isinstance<py::str>(value)) {
    const auto name = value.cast<std::string>();
    if (name == "unit") return cnn::Normalization::unit();
    if (name == "none") return cnn::Normalization::none();
    if (name == "standard") {
      throw py::value_error(
          "normalization \"standard\" needs its statistics: give {\"kind\": \"standard\", "
          "\"mean\": [...], \"std\": [...]}, e.g. cnn.measure_normalization(images)");
    }
    throw py::value_error("normalization: " + expected + ", got \"" + name + "\"");
  }
  if (!py::isinstance<py::dict>(value)) {
    throw py::value_error("normalization: " + expected + ", got " +
                          py::str(py::type::of(value)).cast<std::string>());
  }
  auto dict = py::reinterpret_borrow<py::dict>(value);
  if (!dict.contains("kind"))
    throw py::value_error("normalization: the dict has no \"kind\"; " + expected);
  const auto kind = dict["kind"].cast<std::string>();
  if (kind != "standard") return normalization_of(dict["kind"]);
  if (!dict.contains("mean") || !dict.contains("std")) {
    throw py::value_error("normalization: standard needs \"mean\" and \"std\"; " + expected);
  }
  return cnn::Normalization::standard(dict["mean"].cast<std::vector<float>>(),
                                      dict["std"].cast<std::vector<float>>());
}

cnn::Image image_of(const py::handle& value) {
  const std::string expected =
      "expected a uint8 numpy array (H, W) for a grey image or (H, W, C) with C = 1, 3 or 4 "
      "(grey, RGB, RGBA)";
  if (!py::isinstance<py::array>(value)) {
    throw py::value_error("predict_image: " + expected + ", got " +
                          py::str(py::type::of(value)).cast<std::string>());
  }
  auto raw = py::reinterpret_borrow<py::array>(value);
  if (!raw.dtype().is(py::dtype::of<std::uint8_t>())) {
    throw py::value_error("predict_image: " + expected + ", got dtype " + dtype_text(raw));
  }
  auto array = py::array_t<std::uint8_t, py::array::c_style>::ensure(raw);
  if (!(array.ndim() == 2 || (array.ndim() == 3 && (array.shape(2) == 1 || array.shape(2) == 3 ||
                                                    array.shape(2) == 4))) ||
      array.shape(0) == 0 || array.shape(1) == 0) {
    throw py::value_error("predict_image: " + expected + ", got shape " + shape_text(array));
  }
  cnn::Image image;
  image.height = static_cast<std::size_t>(array.shape(0));
  image.width = static_cast<std::size_t>(array.shape(1));
  const std::size_t given = array.ndim() == 2 ? 1 : static_cast<std::size_t>(array.shape(2));
  // RGBA becomes RGB composited onto white, as transparent pixels of a file are read (paper).
  image.channels = given == 4 ? 3 : given;
  image.pixels.resize(image.channels * image.height * image.width);
  const std::uint8_t* in = array.data();
  const std::size_t plane = image.height * image.width;
  // Interleaved (H, W, C) to planar (C, H, W).
  for (std::size_t p = 0; p < plane; ++p) {
    const unsigned alpha = given == 4 ? in[p * 4 + 3] : 255;
    for (std::size_t c = 0; c < image.channels; ++c) {
      const unsigned sample = in[p * given + c];
      image.pixels[c * plane + p] =
          static_cast<std::uint8_t>((sample * alpha + 255 * (255 - alpha) + 127) / 255);
    }
  }
  return image;
}

py::array_t<std::uint8_t> array_of_image(const cnn::Image& image) {
  py::array_t<std::uint8_t> out({static_cast<py::ssize_t>(image.channels),
                                 static_cast<py::ssize_t>(image.height),
                                 static_cast<py::ssize_t>(image.width)});
  std::memcpy(out.mutable_data(), image.pixels.data(), image.pixels.size());
  return out;
}

// ---- results ---------------------------------------------------------------------------------

struct PredictionResult {
  py::array_t<std::int32_t> labels;
  py::array_t<float> probabilities, logits, confidence;
  py::list names;
};

PredictionResult result_of(const cnn::Predictions& predictions,
                           const std::vector<std::string>& class_names) {
  PredictionResult result;
  const std::size_t n = predictions.size(), classes = predictions.classes;
  result.labels = array_of(predictions.labels);
  result.probabilities = matrix_of(predictions.probabilities, n, classes);
  result.logits = matrix_of(predictions.logits, n, classes);
  std::vector<float> confidence(n);
  for (std::size_t i = 0; i < n; ++i) {
    confidence[i] = predictions.confidence(i);
    result.names.append(class_names.at(static_cast<std::size_t>(predictions.labels[i])));
  }
  result.confidence = array_of(confidence);
  return result;
}

// Test-time augmentation from evaluate's keywords, as `cnn eval --tta-shift --tta-views` reads
// them: none for shift 0, when views must not be given either; a ValueError naming the keyword
// for a bad value.
cnn::TestTimeAugmentation test_time_augmentation(std::size_t shift,
                                                 std::optional<std::size_t> views) {
  if (shift == 0) {
    if (views) throw py::value_error("tta_views needs tta_shift (1 or more pixels)");
    return {};
  }
  try {
    return cnn::TestTimeAugmentation::shifted(shift, views.value_or(5));
  } catch (const std::invalid_argument& e) {
    const bool bad_views = views && *views != 5 && *views != 9;
    throw py::value_error(std::string(bad_views ? "tta_views" : "tta_shift") + ": " + e.what());
  }
}

struct EvaluationResult {
  double accuracy = 0.0;
  std::size_t correct = 0, images = 0;
  py::array_t<std::int64_t> confusion;
  py::array_t<std::int32_t> predicted;
  py::array_t<float> confidence, logits;
  py::list class_names;
  std::string confusion_text;
};

EvaluationResult result_of(const cnn::Evaluation& evaluation,
                           const std::vector<std::string>& class_names) {
  EvaluationResult result;
  result.accuracy = evaluation.accuracy();
  result.correct = evaluation.correct();
  result.images = evaluation.images();
  std::vector<std::int64_t> confusion(evaluation.confusion.begin(), evaluation.confusion.end());
  result.confusion = matrix_of(confusion, evaluation.classes, evaluation.classes);
  result.predicted = array_of(evaluation.predicted);
  result.confidence = array_of(evaluation.confidence);
  result.logits = matrix_of(evaluation.logits, evaluation.images(),
                            evaluation.logits.empty() ? 0 : evaluation.classes);
  for (const auto& name : class_names) result.class_names.append(name);
  result.confusion_text = evaluation.confusion_text(class_names);
  return result;
}

// ---- training --------------------------------------------------------------------------------

struct TrainSettings {
  std::size_t epochs = 0, iterations = 2000, batch_size = 4;
  std::string optimizer = "sgd", schedule = "time";
  double lr = 0.01, momentum = 0.9, decay = 1e-5, weight_decay = 0.0;
  std::uint64_t seed = 1;
  std::optional<std::uint64_t> shuffle_seed;
  std::optional<std::size_t> report_every;
  std::size_t evaluate_every = 0;
};

// The library's options for the settings, filled as `cnn train` fills them for its flags.
cnn::ModelTrainOptions options_of(const TrainSettings& settings, std::size_t images) {
  cnn::ModelTrainOptions options;
  cnn::TrainOptions& train = options.train;
  train.batch_size = settings.batch_size;
  train.iterations = settings.iterations;
  train.epochs = settings.epochs;
  const cnn::IterationPlan plan = cnn::plan_iterations(train, images);
  train.optimizer.kind = cnn::parse_optimizer(settings.optimizer);
  train.optimizer.learning_rate = settings.lr;
  train.optimizer.momentum = settings.momentum;
  train.optimizer.weight_decay = settings.weight_decay;
  train.optimizer.schedule.kind = cnn::parse_schedule(settings.schedule);
  train.optimizer.schedule.decay = settings.decay;
  // As `cnn train --seed S`: the order of the images has its own stream, derived from the seed.
  train.shuffle_seed = settings.shuffle_seed.value_or(settings.seed ^ 0x5eedda7aULL);
  // As `cnn train`: 20 reports per run unless told.
  train.report_every = settings.report_every.value_or(std::max<std::size_t>(1, plan.total / 20));
  options.evaluate_every = settings.evaluate_every;
  return options;
}

py::dict progress_dict(const cnn::ModelProgress& progress) {
  py::dict out;
  out["iteration"] = progress.train.iteration;
  out["total"] = progress.train.total_iterations;
  out["epoch"] = progress.train.epoch;
  out["loss"] = progress.train.loss;
  out["learning_rate"] = progress.train.learning_rate;
  out["seconds"] = progress.train.seconds;
  out["images"] = progress.train.images;
  out["validation_accuracy"] = progress.validation_accuracy
                                   ? py::object(py::float_(*progress.validation_accuracy))
                                   : py::object(py::none());
  return out;
}

// Trains with the GIL released; the callback and the Ctrl-C check take it again. A
// KeyboardInterrupt (or any exception a signal handler raises) stops training after the current
// iteration, as does an exception of the callback or its returning False; the exception is raised
// once the library has returned, so the model is left in a consistent state (the weights of the
// iterations done).
py::dict run_training(Model& model, const cnn::Dataset& data,
                      const std::optional<cnn::Dataset>& validation, const TrainSettings& settings,
                      const py::object& callback) {
  cnn::ModelTrainOptions options = options_of(settings, data.size());
  if (validation) options.validation = &*validation;
  std::atomic<bool> stop{false};
  options.train.stop_requested = &stop;
  std::optional<py::error_already_set> pending;  // touched with the GIL held only

  // Every iteration: a pending signal (Ctrl-C) stops the run promptly, not only at a report.
  options.train.after_backward = [&](std::size_t, cnn::ParameterBlock&) {
    py::gil_scoped_acquire gil;
    if (!pending && PyErr_CheckSignals() != 0) {
      pending.emplace();  // takes the Python error (KeyboardInterrupt) out of the interpreter
      stop = true;
    }
  };
  const auto on_progress = [&](const cnn::ModelProgress& progress) -> bool {
    py::gil_scoped_acquire gil;
    if (pending) return false;
    if (PyErr_CheckSignals() != 0) {
      pending.emplace();
      stop = true;
      return false;
    }
    if (callback.is_none()) return true;
    try {
      const py::object answer = callback(progress_dict(progress));
      // None (no return statement) continues; anything false stops.
      return answer.is_none() || answer.cast<bool>();
    } catch (py::error_already_set& e) {
      pending.emplace(std::move(e));
      return false;
    } catch (const py::cast_error&) {
      PyErr_SetString(PyExc_TypeError, "train: the callback must return True, False or None");
      pending.emplace();
      return false;
    }
  };

  cnn::TrainResult result;
  try {
    py::gil_scoped_release release;
    result = model.train(data, options, on_progress);
  } catch (...) {
    // The library's error wins; a pending Python error (already taken out of the interpreter) is
    // dropped with the GIL held.
    pending.reset();
    throw;
  }
  if (pending) {
    py::error_already_set error = std::move(*pending);
    pending.reset();
    throw error;
  }
  py::dict out;
  out["iterations"] = result.iterations;
  out["images"] = result.images;
  out["seconds"] = result.seconds;
  out["last_loss"] = result.last_loss;
  out["interrupted"] = result.interrupted;
  out["stopped_early"] = result.stopped_early;
  return out;
}

TrainSettings settings_of(std::size_t epochs, std::size_t iterations, std::size_t batch_size,
                          const std::string& optimizer, double lr, double momentum, double decay,
                          double weight_decay, const std::string& schedule, std::uint64_t seed,
                          std::optional<std::uint64_t> shuffle_seed,
                          std::optional<std::size_t> report_every, std::size_t evaluate_every) {
  TrainSettings s;
  s.epochs = epochs;
  s.iterations = iterations;
  s.batch_size = batch_size;
  s.optimizer = optimizer;
  s.lr = lr;
  s.momentum = momentum;
  s.decay = decay;
  s.weight_decay = weight_decay;
  s.schedule = schedule;
  s.seed = seed;
  s.shuffle_seed = shuffle_seed;
  s.report_every = report_every;
  s.evaluate_every = evaluate_every;
  if (s.report_every && *s.report_every == 0) {
    throw py::value_error("train: report_every must be at least 1 (None: 20 reports per run)");
  }
  return s;
}

// ---- data folders ----------------------------------------------------------------------------

// DataOptions for a folder: image folders and CSV rows take the model's shape unless told
// otherwise, IDX and CIFAR-10 files are converted only when told (as `cnn eval` and a training
// run do).
cnn::DataOptions data_options_for(const Model& model, const std::filesystem::path& path,
                                  std::size_t channels,
                                  std::optional<std::pair<std::size_t, std::size_t>> size) {
  cnn::DataOptions options;
  options.channels = channels;
  if (size) std::tie(options.height, options.width) = *size;
  const auto format = cnn::detect_data_format(path);
  if (format == cnn::DataFormat::image_folders || format == cnn::DataFormat::csv) {
    const Shape& input = model.input_shape();
    if (channels == 0) options.channels = input[0];
    if (!size) {
      options.height = input[1];
      options.width = input[2];
    }
  }
  return options;
}

void require_shape_of(const Model& model, const cnn::Dataset& data, const std::string& path) {
  const Shape& input = model.input_shape();
  if (!(data.image_shape() == input)) {
    throw cnn::ShapeError("the model takes images " + input.to_string() + " but " + path +
                          " holds " + data.image_shape().to_string() +
                          "; convert them with channels=" + std::to_string(input[0]) +
                          ", image_size=(" + std::to_string(input[1]) + ", " +
                          std::to_string(input[2]) + ")");
  }
}

// ---- exceptions ------------------------------------------------------------------------------

PyObject* model_file_error = nullptr;
PyObject* image_error = nullptr;
PyObject* data_error = nullptr;
PyObject* training_diverged = nullptr;

PyObject* new_exception(py::module_& m, const char* name, PyObject* base, const char* doc) {
  const std::string full = std::string("cnn.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(full.c_str(), doc, base, nullptr);
  if (type == nullptr) throw py::error_already_set();
  m.add_object(name, py::handle(type));  // the module keeps a reference for the process
  return type;
}

// Runs compute() with the GIL released, so that other Python threads run while the library
// computes, and returns its result.
template <class Compute>
auto without_gil(Compute compute) {
  py::gil_scoped_release release;
  return compute();
}

}  // namespace

PYBIND11_MODULE(cnn, m) {
  // Before anything else: a build for a larger instruction set than this CPU has would die of an
  // illegal instruction in the first kernel.
  try {
    cnn::require_cpu_support();
  } catch (const cnn::UnsupportedCpu& e) {
    throw py::import_error(std::string("cnn: ") + e.what());
  }

  m.doc() =
      "A convolutional-network library: load, train, evaluate and run the models of the `cnn` "
      "program.\n\n"
      "Images are numpy arrays: batches (N, H, W) or (N, C, H, W); dtype uint8 means raw pixels "
      "0..255 (normalised as the model was trained), float32 means already normalised. The GIL "
      "is released while the library computes.";
  m.attr("__version__") = cnn::version();

  model_file_error = new_exception(m, "ModelFileError", PyExc_ValueError,
                                   "A model file that cannot be used; the message names the file.");
  image_error = new_exception(m, "ImageError", PyExc_ValueError,
                              "An image file that cannot be used; the message names the file.");
  data_error = new_exception(m, "DataError", PyExc_ValueError,
                             "A data set that cannot be used; the message names the file.");
  training_diverged = new_exception(m, "TrainingDiverged", PyExc_RuntimeError,
                                    "The loss or a gradient stopped being finite.");
  py::register_exception_translator([](std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const cnn::ModelFileError& e) {
      PyErr_SetString(model_file_error, e.what());
    } catch (const cnn::ImageError& e) {
      PyErr_SetString(image_error, e.what());
    } catch (const cnn::DataError& e) {
      PyErr_SetString(data_error, e.what());
    } catch (const cnn::TrainingDiverged& e) {
      PyErr_SetString(training_diverged, e.what());
    } catch (const std::invalid_argument& e) {  // ArchitectureError, ShapeError among them
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  m.def("set_num_threads", &cnn::set_num_threads, py::arg("n"),
        "Threads of the library's kernels (shared by every model); 0: the CPUs this process may "
        "use. Call it while no model computes. ValueError for more than 1024.");
  m.def("num_threads", &cnn::num_threads, "Threads the library's kernels use (default 1).");
  m.def(
      "instruction_set", [] { return std::string(cnn::compiled_instruction_set().name); },
      "The instruction set the kernels were built for (\"AVX-512\", \"AVX2+FMA\", ...).");
  m.def(
      "measure_normalization",
      [](const py::array& images) {
        if (!images.dtype().is(py::dtype::of<std::uint8_t>()) ||
            (images.ndim() != 3 && images.ndim() != 4) || images.shape(0) == 0) {
          throw py::value_error(
              "measure_normalization: expected uint8 images (N, H, W) or (N, C, H, W), got " +
              dtype_text(images) + " " + shape_text(images));
        }
        auto a = py::array_t<std::uint8_t, py::array::c_style>::ensure(images);
        const std::size_t channels = a.ndim() == 4 ? static_cast<std::size_t>(a.shape(1)) : 1;
        const std::size_t plane =
            static_cast<std::size_t>(a.shape(a.ndim() - 2) * a.shape(a.ndim() - 1));
        const auto normalization = cnn::Normalization::measure(
            a.data(), static_cast<std::size_t>(a.shape(0)), channels, plane);
        return normalization_dict(normalization, channels);
      },
      py::arg("images"),
      "The \"standard\" normalisation of these uint8 images (N, H, W) or (N, C, H, W): per "
      "channel the mean and standard deviation of pixel / 255, as `cnn train --normalize "
      "standard` measures them. A dict for Model.create(normalization=...).");

  py::class_<PredictionResult>(m, "Predictions",
                               "What predict returns for N images: labels (int32, N: the most "
                               "probable class), probabilities (float32, N x classes: softmax), "
                               "logits (float32, N x classes: the network's output), confidence "
                               "(float32, N: the probability of each label) and names (list: the "
                               "class name of each label).")
      .def_readonly("labels", &PredictionResult::labels)
      .def_readonly("probabilities", &PredictionResult::probabilities)
      .def_readonly("logits", &PredictionResult::logits)
      .def_readonly("confidence", &PredictionResult::confidence)
      .def_readonly("names", &PredictionResult::names)
      .def("__len__", [](const PredictionResult& r) { return r.labels.shape(0); })
      .def("__repr__", [](const PredictionResult& r) {
        return "<cnn.Predictions of " + std::to_string(r.labels.shape(0)) +
               " images: " + py::repr(r.names).cast<std::string>() + ">";
      });

  py::class_<EvaluationResult>(m, "Evaluation",
                               "What evaluate returns: accuracy (0..1), correct and images "
                               "(counts), confusion (int64 classes x classes: confusion[t, p] "
                               "images of true class t predicted as p), predicted (int32, one per "
                               "image), confidence (float32), logits (float32 images x classes), "
                               "class_names, and confusion_text (the table `cnn eval` prints).")
      .def_readonly("accuracy", &EvaluationResult::accuracy)
      .def_readonly("correct", &EvaluationResult::correct)
      .def_readonly("images", &EvaluationResult::images)
      .def_readonly("confusion", &EvaluationResult::confusion)
      .def_readonly("predicted", &EvaluationResult::predicted)
      .def_readonly("confidence", &EvaluationResult::confidence)
      .def_readonly("logits", &EvaluationResult::logits)
      .def_readonly("class_names", &EvaluationResult::class_names)
      .def_readonly("confusion_text", &EvaluationResult::confusion_text)
      .def("__repr__", [](const EvaluationResult& r) {
        return "<cnn.Evaluation accuracy " + std::to_string(r.accuracy) + " (" +
               std::to_string(r.correct) + " of " + std::to_string(r.images) + ")>";
      });

  py::class_<Model>(m, "Model",
                    "A network with its input shape, normalisation, class names and image "
                    "preparation: the model files of `cnn train --save`. Methods may be called "
                    "from several threads; calls on one model take turns (each model has a lock), "
                    "so for parallel inference give each thread its own model (copy()).")
      .def_static(
          "load",
          [](const std::filesystem::path& path) {
            py::gil_scoped_release release;
            return Model::load(path);
          },
          py::arg("path"),
          "Reads a model file (safetensors, as `cnn train --save` writes). cnn.ModelFileError "
          "naming the file and the problem.")
      .def_static(
          "create",
          [](const std::string& architecture, const std::vector<std::size_t>& input,
             std::size_t classes, std::uint64_t seed,
             std::optional<std::vector<std::string>> class_names, const py::object& normalization) {
            if (input.size() != 3) {
              throw py::value_error("create: input must be (C, H, W), got " +
                                    std::to_string(input.size()) + " values");
            }
            cnn::Normalization norm = normalization_of(normalization);
            py::gil_scoped_release release;
            return Model::create(architecture, Shape{input[0], input[1], input[2]}, classes, seed,
                                 class_names.value_or(std::vector<std::string>{}), norm);
          },
          py::arg("architecture"), py::arg("input"), py::arg("classes"), py::arg("seed") = 1,
          py::arg("class_names") = py::none(), py::arg("normalization") = "unit",
          "A new network from a preset name (\"seed\", \"lenet5\", \"fast\", \"best\") or text "
          "in the architecture language, for images input = (C, H, W) and `classes` outputs, "
          "initialised from seed as `cnn train --seed` does. class_names default to \"0\", "
          "\"1\", ...; normalization is \"unit\" (pixel / 255, the default), \"none\", or a dict "
          "{\"kind\": \"standard\", \"mean\": [...], \"std\": [...]} (measure_normalization). "
          "ValueError for an architecture that does not fit the input or a wrong number of "
          "class names.")
      .def(
          "copy",
          [](const Model& model) {
            py::gil_scoped_release release;
            return model.copy();
          },
          "An independent model with the same weights and description.")
      .def(
          "save",
          [](const Model& model, const std::filesystem::path& path) {
            py::gil_scoped_release release;
            model.save(path);
          },
          py::arg("path"),
          "Writes the model file atomically (the file `cnn eval`, `cnn predict` and PyTorch "
          "read). cnn.ModelFileError naming the file.")
      .def_property_readonly(
          "input_shape",
          [](const Model& model) {
            const Shape& s = model.input_shape();
            return py::make_tuple(s[0], s[1], s[2]);
          },
          "(C, H, W) of one image.")
      .def_property_readonly("classes", &Model::classes, "The number of classes.")
      .def_property_readonly("class_names", &Model::class_names,
                             "One name per class (\"0\", \"1\", ... when the file has none).")
      .def_property_readonly(
          "normalization",
          [](const Model& model) {
            return normalization_dict(model.normalization(), model.input_shape()[0]);
          },
          "How uint8 pixels become the network's input: a dict with kind (\"unit\", \"none\" or "
          "\"standard\"), scale, and mean and std per channel: x = (pixel * scale - mean[c]) / "
          "std[c].")
      .def_property(
          "preparation",
          [](const Model& model) { return cnn::preparation_name(model.info().preparation); },
          [](Model& model, const std::string& name) {
            const auto preparation = cnn::parse_preparation(name);
            if (!preparation) {
              throw py::value_error("preparation: expected \"digit\" or \"resize\", got \"" + name +
                                    "\"");
            }
            model.info().preparation = *preparation;
          },
          "How predict_file and predict_image prepare an image: \"digit\" (as MNIST's digits: "
          "inverted when dark on light, cropped, scaled into 20x20, centred by mass in 28x28) or "
          "\"resize\" (converted to the model's channels and resized). Settable; save() records "
          "it.")
      .def_property_readonly(
          "architecture", [](const Model& model) { return model.info().architecture; },
          "The network in the architecture language (empty: the preset's).")
      .def_property_readonly(
          "preset", [](const Model& model) { return model.info().preset; },
          "The preset name, or \"custom\".")
      .def_property_readonly("parameter_count", &Model::parameter_count,
                             "The number of trainable parameters.")
      .def("__repr__",
           [](const Model& model) {
             return "<cnn.Model " + model.info().preset + " " + model.input_shape().to_string() +
                    " -> " + std::to_string(model.classes()) + " classes, " +
                    std::to_string(model.parameter_count()) + " parameters>";
           })
      .def("summary", &Model::summary, "One line per layer: output shape and parameters.")
      .def("layer_names", &Model::layer_names,
           "Descriptions of the layers in order (\"0 conv(32,3,pad=1)\", ...), one per element of "
           "activations().")
      .def(
          "predict",
          [](const Model& model, const py::handle& images) {
            const Batch batch = batch_for(model, images, "predict");
            cnn::Predictions predictions;
            {
              py::gil_scoped_release release;
              if (batch.pixels) {
                const auto* pixels = static_cast<const std::uint8_t*>(batch.array.data());
                predictions = model.predict_pixels(
                    {pixels, batch.count * model.input_shape().numel()}, batch.count);
              } else {
                predictions = model.predict(tensor_of(model, batch));
              }
            }
            return result_of(predictions, model.class_names());
          },
          py::arg("images"),
          "Classifies a batch: a numpy array (N, H, W) (one-channel models) or (N, C, H, W) of "
          "the model's input shape. dtype uint8: raw pixels 0..255, normalised as the model was "
          "trained (its normalization); float32: already normalised, given to the network as "
          "they are. Returns a cnn.Predictions with .labels (int32 N), .probabilities and "
          ".logits (float32 N x classes), .confidence (float32 N) and .names (class names of the "
          "labels). ValueError naming the expected shape or dtype.")
      .def(
          "predict_image",
          [](const Model& model, const py::handle& image) {
            cnn::Image converted = image_of(image);
            return result_of(without_gil([&] { return model.predict_image(converted); }),
                             model.class_names());
          },
          py::arg("image"),
          "Classifies one picture of any size: uint8 (H, W) grey or (H, W, C) with C = 1, 3 or 4 "
          "(grey, RGB, RGBA; the layout of numpy.asarray(PIL.Image); RGBA is composited onto white "
          "as transparent files are), prepared as `cnn predict` prepares a file (see "
          "preparation). Returns a cnn.Predictions of one image.")
      .def(
          "predict_file",
          [](const Model& model, const std::filesystem::path& path) {
            return result_of(without_gil([&] { return model.predict_file(path); }),
                             model.class_names());
          },
          py::arg("path"),
          "Classifies an image file (PNG, JPEG, PGM, PPM) read and prepared exactly as `cnn "
          "predict` does. Returns a cnn.Predictions of one image; cnn.ImageError naming the file.")
      .def(
          "prepare_file",
          [](const Model& model, const std::filesystem::path& path) {
            return array_of_image(without_gil([&] { return model.prepare_file(path); }));
          },
          py::arg("path"),
          "The image the network sees for a file, before normalisation: uint8 (C, H, W) of the "
          "model's input shape (predict(image[None]) classifies it as predict_file does).")
      .def(
          "prepare_image",
          [](const Model& model, const py::handle& image) {
            cnn::Image converted = image_of(image);
            return array_of_image(without_gil([&] { return model.prepare(converted); }));
          },
          py::arg("image"),
          "The same for a picture given as predict_image takes it: uint8 (C, H, W).")
      .def(
          "activations",
          [](const Model& model, const py::handle& images) {
            const Batch batch = batch_for(model, images, "activations");
            std::vector<cnn::Tensor> outputs;
            {
              py::gil_scoped_release release;
              outputs = model.activations(tensor_of(model, batch));
            }
            py::list result;
            for (const cnn::Tensor& t : outputs) {
              std::vector<py::ssize_t> shape;
              for (std::size_t axis = 0; axis < t.shape().rank(); ++axis) {
                shape.push_back(static_cast<py::ssize_t>(t.dim(axis)));
              }
              py::array_t<float> array(shape);
              std::memcpy(array.mutable_data(), t.data(), t.size() * sizeof(float));
              result.append(array);
            }
            return result;
          },
          py::arg("images"),
          "The output of every layer for a batch (as predict takes it): a list of float32 arrays "
          "(N, C', H', W') or (N, F), one per layer (layer_names()); the last is the logits.")
      .def(
          "evaluate",
          [](const Model& model, const py::handle& images, const py::handle& labels,
             std::size_t batch_size, std::size_t tta_shift, std::optional<std::size_t> tta_views) {
            const cnn::TestTimeAugmentation tta = test_time_augmentation(tta_shift, tta_views);
            const cnn::Dataset data = dataset_of(model, images, labels, "evaluate");
            cnn::Evaluation evaluation;
            {
              py::gil_scoped_release release;
              evaluation = model.evaluate(data, batch_size, tta);
            }
            return result_of(evaluation, model.class_names());
          },
          py::arg("images"), py::arg("labels"), py::arg("batch_size") = 100,
          py::arg("tta_shift") = 0, py::arg("tta_views") = py::none(),
          "Accuracy, confusion matrix and every prediction on uint8 images (N, H, W) or (N, C, H, "
          "W) with integer labels (N) of the model's classes, as `cnn eval` computes them. "
          "tta_shift P > 0: test-time augmentation, as `cnn eval --tta-shift P --tta-views V`: "
          "each image is also seen moved P pixels up, down, left and right (tta_views 5, the "
          "default) and diagonally (9), and the prediction is the arg-max of the views' mean "
          "softmax (off by default). Returns a cnn.Evaluation; ValueError for a bad tta_shift or "
          "tta_views.")
      .def(
          "evaluate_folder",
          [](const Model& model, const std::filesystem::path& data_path, std::size_t channels,
             std::optional<std::pair<std::size_t, std::size_t>> image_size, std::size_t batch_size,
             std::size_t tta_shift, std::optional<std::size_t> tta_views) {
            const cnn::TestTimeAugmentation tta = test_time_augmentation(tta_shift, tta_views);
            cnn::Evaluation evaluation;
            {
              py::gil_scoped_release release;
              cnn::DataOptions options = data_options_for(model, data_path, channels, image_size);
              options.test_only = true;
              const cnn::DataSource source = cnn::load_data_source(data_path, options);
              if (!source.test) {
                throw cnn::DataError(data_path.string() +
                                     ": holds no test set to evaluate (t10k-* files, "
                                     "test_batch.bin, test.csv with labels or a test/ folder)");
              }
              require_shape_of(model, *source.test, data_path.string());
              const cnn::Dataset test =
                  cnn::relabel_for(*source.test, model.class_names(), data_path.string());
              evaluation = model.evaluate(test, batch_size, tta);
            }
            return result_of(evaluation, model.class_names());
          },
          py::arg("data_path"), py::arg("channels") = 0, py::arg("image_size") = py::none(),
          py::arg("batch_size") = 100, py::arg("tta_shift") = 0, py::arg("tta_views") = py::none(),
          "Evaluates the test set of a data folder or file (IDX files, CIFAR-10 batches, CSV, "
          "image folders; as `cnn eval --data`): image folders and CSV rows take the model's "
          "shape, IDX and CIFAR-10 images are converted when channels (1 or 3) or image_size "
          "(H, W) say so; tta_shift and tta_views as for evaluate. Returns a cnn.Evaluation; "
          "cnn.DataError naming the file.")
      .def(
          "train",
          [](Model& model, const py::handle& images, const py::handle& labels, std::size_t epochs,
             std::size_t iterations, std::size_t batch_size, const std::string& optimizer,
             double lr, double momentum, double decay, double weight_decay,
             const std::string& schedule, std::uint64_t seed,
             std::optional<std::uint64_t> shuffle_seed, const py::object& validation,
             std::size_t evaluate_every, std::optional<std::size_t> report_every,
             const py::object& callback) {
            const cnn::Dataset data = dataset_of(model, images, labels, "train");
            std::optional<cnn::Dataset> validation_set;
            if (!validation.is_none()) {
              if (!py::isinstance<py::tuple>(validation) || py::len(validation) != 2) {
                throw py::value_error("train: validation must be a tuple (images, labels)");
              }
              auto pair = py::reinterpret_borrow<py::tuple>(validation);
              validation_set = dataset_of(model, pair[0], pair[1], "train (validation)");
            }
            const TrainSettings settings = settings_of(
                epochs, iterations, batch_size, optimizer, lr, momentum, decay, weight_decay,
                schedule, seed, shuffle_seed, report_every, evaluate_every);
            return run_training(model, data, validation_set, settings, callback);
          },
          py::arg("images"), py::arg("labels"), py::kw_only(), py::arg("epochs") = 0,
          py::arg("iterations") = 2000, py::arg("batch_size") = 4, py::arg("optimizer") = "sgd",
          py::arg("lr") = 0.01, py::arg("momentum") = 0.9, py::arg("decay") = 1e-5,
          py::arg("weight_decay") = 0.0, py::arg("schedule") = "time", py::arg("seed") = 1,
          py::arg("shuffle_seed") = py::none(), py::arg("validation") = py::none(),
          py::arg("evaluate_every") = 0, py::arg("report_every") = py::none(),
          py::arg("callback") = py::none(),
          "Trains on uint8 images (N, H, W) or (N, C, H, W) with integer labels (N), normalised "
          "as the model says. The settings and defaults are `cnn train`'s: epochs passes (when > "
          "0) or `iterations` batches of batch_size, optimizer \"sgd\", \"nesterov\", \"adam\" or "
          "\"adamw\", lr, momentum, decay (lr / (1 + t * decay) for schedule \"time\"; also "
          "\"step\", \"cosine\", \"onecycle\"), weight_decay; the images are shuffled from "
          "shuffle_seed, by default derived from seed as `cnn train --seed` derives it (with "
          "Model.create(..., seed=S) and train(..., seed=S) the weights equal those of `cnn "
          "train --seed S --val 0`). validation=(images, labels) is measured every "
          "evaluate_every iterations (0: at the end). callback(progress) is called every "
          "report_every iterations (None: 20 reports per run) and after the last with a dict: "
          "iteration, total, epoch, loss, learning_rate, seconds, images, validation_accuracy "
          "(None unless measured then); returning False stops training after that iteration. "
          "Ctrl-C (KeyboardInterrupt) or an exception in the callback stops training after the "
          "current iteration and is raised then (the model keeps the weights trained so far). "
          "Returns a dict: iterations, images, seconds, last_loss, interrupted, stopped_early.")
      .def(
          "train_folder",
          [](Model& model, const std::filesystem::path& data_path, std::optional<std::size_t> val,
             std::uint64_t split_seed, std::size_t channels,
             std::optional<std::pair<std::size_t, std::size_t>> image_size, std::size_t epochs,
             std::size_t iterations, std::size_t batch_size, const std::string& optimizer,
             double lr, double momentum, double decay, double weight_decay,
             const std::string& schedule, std::uint64_t seed,
             std::optional<std::uint64_t> shuffle_seed, std::size_t evaluate_every,
             std::optional<std::size_t> report_every, const py::object& callback) {
            const TrainSettings settings = settings_of(
                epochs, iterations, batch_size, optimizer, lr, momentum, decay, weight_decay,
                schedule, seed, shuffle_seed, report_every, evaluate_every);
            cnn::Dataset train;
            std::optional<cnn::Dataset> validation;
            {
              py::gil_scoped_release release;
              cnn::DataOptions options;
              options.channels = channels;
              if (image_size) std::tie(options.height, options.width) = *image_size;
              const cnn::DataSource source = cnn::load_data_source(data_path, options);
              const std::string name = data_path.string();
              // The validation images as `cnn train` holds them out (validation_split).
              const std::size_t count =
                  val.value_or(cnn::default_validation_count(source.train.size()));
              cnn::ValidationSplit split;
              try {
                split = cnn::validation_split(source, count, split_seed);
              } catch (const std::invalid_argument& e) {
                throw std::invalid_argument("train_folder: val " + std::string(e.what()) + " (" +
                                            name + ")");
              }
              train = std::move(split.train);
              const cnn::Dataset& held_out = split.validation;
              require_shape_of(model, train, name);
              train = cnn::relabel_for(train, model.class_names(), name)
                          .with_normalization(model.normalization());
              if (held_out.size() > 0) {
                validation = cnn::relabel_for(held_out, model.class_names(), name)
                                 .with_normalization(model.normalization());
              }
            }
            return run_training(model, train, validation, settings, callback);
          },
          py::arg("data_path"), py::kw_only(), py::arg("val") = py::none(),
          py::arg("split_seed") = 1, py::arg("channels") = 0, py::arg("image_size") = py::none(),
          py::arg("epochs") = 0, py::arg("iterations") = 2000, py::arg("batch_size") = 4,
          py::arg("optimizer") = "sgd", py::arg("lr") = 0.01, py::arg("momentum") = 0.9,
          py::arg("decay") = 1e-5, py::arg("weight_decay") = 0.0, py::arg("schedule") = "time",
          py::arg("seed") = 1, py::arg("shuffle_seed") = py::none(), py::arg("evaluate_every") = 0,
          py::arg("report_every") = py::none(), py::arg("callback") = py::none(),
          "Trains on a data folder or file as `cnn train --data` reads it (IDX files, CIFAR-10 "
          "batches, CSV, image folders; channels and image_size convert the images). The "
          "validation images are held out as `cnn train` holds them out: the data's own (val/, "
          "val.csv), else `val` images (None: a tenth of the training images, at most 5000; 0: "
          "none), the last ones of IDX and CIFAR-10 files, a split stratified by class and "
          "seeded by split_seed of CSV files and image folders. The data's classes are found "
          "among the model's by name. The other settings, the callback and the result are "
          "train()'s.");
}
