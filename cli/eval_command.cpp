// cnn eval: test accuracy of a saved model.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "cnn/core/parallel.hpp"
#include "cnn/data/data_source.hpp"
#include "cnn/data/dataset.hpp"
#include "cnn/io/model_file.hpp"
#include "cnn/train/evaluation.hpp"
#include "cnn/train/training.hpp"
#include "commands.hpp"
#include "data_options.hpp"
#include "options.hpp"
#include "predictions_csv.hpp"

namespace cnn::cli {

namespace {

struct EvalArgs {
  std::string model;
  DataFlags data;
  std::size_t batch = 100;
  std::size_t threads = 0;
  std::string predictions_out;
};

// The images to evaluate: the data's test set, or where it has none all its images; image folders
// converted and resized to the model's input, CSV rows read in its shape; labelled as the model
// names its classes and normalised as it was trained.
Dataset evaluation_set(const EvalArgs& args, const LoadedModel& loaded) {
  DataOptions options = data_options(args.data, true);
  const Shape& input = loaded.info.input;
  const auto format = detect_data_format(args.data.path);
  // Image folders and CSV rows take the model's shape unless --channels or --image-size say
  // otherwise; IDX and CIFAR-10 files are converted only when they say so (as training did).
  if (format == DataFormat::image_folders || format == DataFormat::csv) {
    if (args.data.channels == 0) options.channels = input[0];
    if (args.data.image_size.empty()) {
      options.height = input[1];
      options.width = input[2];
    }
  }
  options.test_only = true;
  const DataSource source = load_data(args.data, options);
  std::fputs(data_report(args.data, source).c_str(), stdout);
  Dataset set = source.test ? *source.test : source.train;
  if (!source.test) {
    std::printf("note: %s has no test set: evaluating its %zu training images%s\n",
                args.data.path.c_str(), source.train.size(),
                source.validation ? " (not the validation ones)" : "");
  }
  if (!(set.image_shape() == input)) {
    throw std::runtime_error("the model takes images " + input.to_string() + " but " +
                             args.data.path + " holds " + set.image_shape().to_string() +
                             "; to convert them as a training run did, give --channels " +
                             std::to_string(input[0]) + " --image-size " +
                             std::to_string(input[1]) + "x" + std::to_string(input[2]));
  }
  return relabel_for(set, loaded.info.names(), args.data.path)
      .with_normalization(loaded.info.normalization);
}

int run_eval(const EvalArgs& args) {
  require_data_path(args.data.path);
  set_num_threads(args.threads);
  LoadedModel loaded = load_model(args.model);
  const Dataset test = evaluation_set(args, loaded);
  const std::vector<std::string> names = loaded.info.names();
  const auto start = std::chrono::steady_clock::now();
  const Evaluation evaluation = evaluate_in_detail(loaded.model, test, args.batch);
  const double accuracy = evaluation.accuracy();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("model %s (preset %s, %zu parameters)\n", args.model.c_str(),
              loaded.info.preset.c_str(), loaded.model.parameter_count());
  std::printf("test accuracy %.4f (%zu images)\n", accuracy, test.size());
  std::printf("inference time %.3f s (%.0f images/s, batch %zu, %zu thread%s)\n", seconds,
              static_cast<double>(test.size()) / seconds, args.batch, num_threads(),
              num_threads() == 1 ? "" : "s");
  std::printf("%s%s", evaluation.class_accuracy_text(names).c_str(),
              evaluation.confusion_text(names).c_str());
  if (!args.predictions_out.empty()) {
    write_predictions_csv(args.predictions_out, test, evaluation, "--predictions-out");
    std::printf("wrote the prediction, confidence and logits of every test image to %s\n",
                args.predictions_out.c_str());
  }
  return 0;
}

}  // namespace

Command add_eval_command(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand(
      "eval", "Report the test accuracy, per-class accuracy and confusion matrix of a saved model");
  cmd->add_option("--model", args->model, "Model file written by 'cnn train --save'")
      ->required()
      ->type_name("FILE");
  add_data_flags(*cmd, args->data);
  cmd->add_option("--batch", args->batch, "Images per forward pass")
      ->check(integer_at_least(1, 1 << 16))
      ->capture_default_str();
  add_threads_option(*cmd, args->threads);
  cmd->add_option("--predictions-out", args->predictions_out,
                  "Write every test image's label, predicted class, confidence and logits to this "
                  "CSV file (the format of the run folder's test_predictions.csv)")
      ->type_name("FILE");
  return [args] { return run_eval(*args); };
}

}  // namespace cnn::cli
