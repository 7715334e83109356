#include "cnn/model.hpp"

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "cnn/arch/architecture.hpp"
#include "cnn/arch/presets.hpp"
#include "cnn/core/numbers.hpp"
#include "cnn/core/parallel.hpp"
#include "cnn/data/data_source.hpp"
#include "cnn/nn/softmax_cross_entropy.hpp"
#include "cnn/train/optimizer_options.hpp"

namespace cnn {

namespace {

// The architecture text of a preset name, or the text itself.
bool is_preset(const std::string& name) {
  const std::vector<std::string> names = preset_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Copies every parameter and buffer of `from` into `to`, two networks of one architecture.
void copy_weights(Sequential& from, Sequential& to) {
  std::vector<Parameter> source = from.parameters(), target = to.parameters();
  for (std::size_t i = 0; i < source.size(); ++i) *target[i].value = *source[i].value;
  std::vector<Buffer> source_buffers = from.buffers(), target_buffers = to.buffers();
  for (std::size_t i = 0; i < source_buffers.size(); ++i) {
    *target_buffers[i].value = *source_buffers[i].value;
  }
}

// Predictions from logits [N, classes]: softmax and arg-max (the first of equal values).
Predictions predictions_from(const Tensor& logits) {
  Predictions result;
  const std::size_t count = logits.dim(0), classes = logits.dim(1);
  result.classes = classes;
  result.logits.assign(logits.data(), logits.data() + count * classes);
  Tensor probs;
  softmax(logits, probs);
  result.probabilities.assign(probs.data(), probs.data() + count * classes);
  result.labels.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    const float* row = logits.data() + i * classes;
    result.labels[i] = static_cast<std::int32_t>(std::max_element(row, row + classes) - row);
  }
  return result;
}

// Throws ShapeError unless x is a batch [N, C, H, W] of images of `input`; `what` names the call.
void check_batch(const Tensor& x, const Shape& input, const char* what) {
  if (x.shape().rank() != 4 || !(Shape{x.dim(1), x.dim(2), x.dim(3)} == input)) {
    throw ShapeError(std::string(what) + ": the model takes a batch [N, " +
                     std::to_string(input[0]) + ", " + std::to_string(input[1]) + ", " +
                     std::to_string(input[2]) + "], got " + x.shape().to_string());
  }
}

// Throws ShapeError unless the images of `data` have the shape `input`; `what` names the call and
// the data ("Model::train", "the validation data").
void check_images(const Dataset& data, const Shape& input, const std::string& what) {
  if (!(data.image_shape() == input)) {
    throw ShapeError(what + ": the model takes images " + input.to_string() + ", the data holds " +
                     data.image_shape().to_string());
  }
}

// The image converted to the input's channels and resized to its height and width (when not
// already so).
Image fit_to_input(Image image, const Shape& input) {
  if (image.channels != input[0]) image = convert_channels(image, input[0]);
  if (image.height != input[1] || image.width != input[2]) {
    image = resize_image(image, input[1], input[2]);
  }
  return image;
}

}  // namespace

Preparation default_preparation(const Shape& input, const std::vector<std::string>& class_names) {
  return input == Shape{1, 28, 28} && digit_classes(class_names) ? Preparation::digit
                                                                 : Preparation::resize;
}

Model Model::create(const std::string& preset_or_architecture, const Shape& input,
                    std::size_t classes, std::uint64_t seed, std::vector<std::string> class_names,
                    Normalization normalization) {
  if (!class_names.empty() && class_names.size() != classes) {
    throw std::invalid_argument("Model::create: " + std::to_string(class_names.size()) +
                                " class names for " + std::to_string(classes) + " classes");
  }
  if (!normalization.fits(input.rank() == 3 ? input[0] : 0)) {
    throw std::invalid_argument("Model::create: the normalisation holds statistics for " +
                                std::to_string(normalization.channels()) + " channels, the input " +
                                input.to_string() + " has other");
  }
  ModelInfo info;
  const bool preset = is_preset(preset_or_architecture);
  info.preset = preset ? preset_or_architecture : "custom";
  info.architecture = preset ? preset_architecture(preset_or_architecture) : preset_or_architecture;
  info.input = input;
  info.classes = classes;
  info.normalization = std::move(normalization);
  info.preparation =
      default_preparation(input, class_names.empty() ? numbered_class_names(classes) : class_names);
  info.class_names = std::move(class_names);
  info.extra["seed"] = std::to_string(seed);  // as cnn train records its --seed
  Sequential network = build_architecture(info.architecture, input, classes);
  network.initialize(seed);
  return Model(std::move(network), std::move(info));
}

Model::Model(Sequential network, ModelInfo info)
    : mutex_(std::make_unique<std::mutex>()),
      network_(std::make_unique<Sequential>(std::move(network))),
      info_(std::move(info)) {
  // Refuses a description that does not fit the network ("... does not fit 10 classes").
  if (info_.input.rank() != 3) {
    throw ShapeError("Model: expected an input shape [C, H, W], got " + info_.input.to_string());
  }
  const Shape out =
      network_->output_shape(Shape{1, info_.input[0], info_.input[1], info_.input[2]});
  if (out.numel() != info_.classes) {
    throw ShapeError("Model: the network's output " + out.to_string() + " for an input " +
                     info_.input.to_string() + " does not fit " + std::to_string(info_.classes) +
                     " classes");
  }
  if (!info_.class_names.empty() && info_.class_names.size() != info_.classes) {
    throw std::invalid_argument("Model: " + std::to_string(info_.class_names.size()) +
                                " class names for " + std::to_string(info_.classes) + " classes");
  }
}

Model Model::load(const std::filesystem::path& path) {
  LoadedModel loaded = load_model(path);
  return Model(std::move(loaded.model), std::move(loaded.info));
}

Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

Model Model::copy() const {
  std::lock_guard lock(*mutex_);
  Sequential network = info_.architecture.empty()
                           ? make_preset(info_.preset, info_.input, info_.classes)
                           : build_architecture(info_.architecture, info_.input, info_.classes);
  copy_weights(*network_, network);
  return Model(std::move(network), info_);
}

void Model::save(const std::filesystem::path& path) const {
  std::lock_guard lock(*mutex_);
  save_model(path, *network_, info_);
}

std::size_t Model::parameter_count() const {
  std::lock_guard lock(*mutex_);
  return network_->parameter_count();
}

std::string Model::summary() const {
  std::lock_guard lock(*mutex_);
  return network_->summary(Shape{1, info_.input[0], info_.input[1], info_.input[2]});
}

Predictions Model::predict(const Tensor& x) const {
  check_batch(x, info_.input, "Model::predict");
  std::lock_guard lock(*mutex_);
  if (x.dim(0) == 0) {
    Predictions none;
    none.classes = info_.classes;
    return none;
  }
  return predictions_from(network_->forward(x, /*training=*/false));
}

Predictions Model::predict_pixels(std::span<const std::uint8_t> pixels, std::size_t count) const {
  const std::size_t image = info_.input.numel();
  if (pixels.size() != count * image) {
    throw std::invalid_argument("Model::predict_pixels: " + std::to_string(count) + " images of " +
                                info_.input.to_string() + " are " + std::to_string(count * image) +
                                " bytes, got " + std::to_string(pixels.size()));
  }
  Tensor x(Shape{count, info_.input[0], info_.input[1], info_.input[2]});
  const std::size_t plane = info_.input[1] * info_.input[2];
  for (std::size_t i = 0; i < count; ++i) {
    info_.normalization.apply(pixels.data() + i * image, info_.input[0], plane,
                              x.data() + i * image);
  }
  return predict(x);
}

Image Model::prepare(const Image& image, const std::string& name) const {
  if (info_.preparation != Preparation::digit) return fit_to_input(image, info_.input);
  const Image grey = image.channels == 1 ? image : convert_channels(image, 1);
  GrayImage digit = prepare_digit(GrayImage{grey.width, grey.height, grey.pixels}, name);
  return fit_to_input(Image{1, digit.height, digit.width, std::move(digit.pixels)}, info_.input);
}

Image Model::prepare_file(const std::filesystem::path& path) const {
  if (info_.preparation != Preparation::digit) {
    return fit_to_input(read_image_natural(path), info_.input);
  }
  // read_image's grey conversion, as `cnn predict` has always read digits.
  GrayImage digit = prepare_digit(read_image(path), path.string());
  return fit_to_input(Image{1, digit.height, digit.width, std::move(digit.pixels)}, info_.input);
}

Predictions Model::predict_image(const Image& image) const {
  const Image prepared = prepare(image);
  return predict_pixels(prepared.pixels, 1);
}

Predictions Model::predict_file(const std::filesystem::path& path) const {
  const Image prepared = prepare_file(path);
  return predict_pixels(prepared.pixels, 1);
}

Evaluation Model::evaluate(const Dataset& data, std::size_t batch_size,
                           const TestTimeAugmentation& tta) const {
  check_images(data, info_.input, "Model::evaluate");
  const Dataset normalised = data.with_normalization(info_.normalization);
  std::lock_guard lock(*mutex_);
  return evaluate_in_detail(*network_, normalised, batch_size, nullptr, tta);
}

std::vector<Tensor> Model::activations(const Tensor& x) const {
  check_batch(x, info_.input, "Model::activations");
  std::lock_guard lock(*mutex_);
  network_->forward(x, /*training=*/false);
  std::vector<Tensor> outputs;
  outputs.reserve(network_->size());
  for (std::size_t i = 0; i < network_->size(); ++i) outputs.push_back(network_->activation(i));
  return outputs;
}

std::vector<std::string> Model::layer_names() const {
  std::lock_guard lock(*mutex_);
  std::vector<std::string> names;
  for (std::size_t i = 0; i < network_->size(); ++i) {
    names.push_back(std::to_string(i) + " " + network_->layer(i).describe());
  }
  return names;
}

TrainResult Model::train(const Dataset& data, const ModelTrainOptions& options,
                         const std::function<bool(const ModelProgress&)>& on_progress) {
  check_images(data, info_.input, "Model::train");
  if (options.validation != nullptr) {
    check_images(*options.validation, info_.input, "Model::train (validation data)");
  }
  std::lock_guard lock(*mutex_);
  const Dataset train_set = data.with_normalization(info_.normalization);
  std::optional<Dataset> validation;
  if (options.validation != nullptr && options.validation->size() > 0) {
    validation = options.validation->with_normalization(info_.normalization);
  }
  TrainOptions train_options = options.train;
  const std::size_t total = plan_iterations(train_options, train_set.size()).total;
  const std::size_t report_every = options.train.report_every;
  // train() reports every iteration here: validation runs and the caller's reports keep their own
  // cadence, and the loss of a report is the mean of the iterations since the previous one.
  train_options.report_every = 1;
  double loss_sum = 0.0;
  std::size_t loss_count = 0;
  bool stop = false;
  std::optional<double> last_validation;
  const auto user_finish_early = options.train.finish_early;
  train_options.finish_early = [&] { return stop || (user_finish_early && user_finish_early()); };
  const TrainResult result =
      cnn::train(*network_, train_set, train_options, [&](const TrainProgress& progress) {
        loss_sum += progress.loss;
        ++loss_count;
        const bool last = progress.iteration == total;
        ModelProgress report{progress, std::nullopt};
        if (validation &&
            ((options.evaluate_every > 0 && progress.iteration % options.evaluate_every == 0) ||
             last)) {
          report.validation_accuracy =
              cnn::evaluate(*network_, *validation, 100, train_options.processes);
          last_validation = report.validation_accuracy;
        }
        const bool due = report_every > 0 && (progress.iteration % report_every == 0 || last);
        if (!due && !report.validation_accuracy) return;
        report.train.loss = loss_sum / static_cast<double>(loss_count);
        loss_sum = 0.0;
        loss_count = 0;
        if (on_progress && !on_progress(report)) stop = true;
      });
  info_.extra["batch"] = std::to_string(options.train.batch_size);
  info_.extra["iterations"] = std::to_string(result.iterations);
  info_.extra["learning_rate"] = format_number(options.train.optimizer.learning_rate);
  info_.extra["optimizer"] = optimizer_name(options.train.optimizer.kind);
  info_.extra["shuffle_seed"] = std::to_string(options.train.shuffle_seed);
  info_.extra["threads"] = std::to_string(num_threads());
  info_.extra[kDataChecksumKey] = data_checksum(std::vector{data});
  if (last_validation) info_.extra["validation_accuracy"] = format_number(*last_validation);
  return result;
}

}  // namespace cnn
