// cnn eval: test accuracy of a saved model.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cnn/core/parallel.hpp"
#include "cnn/data/data_source.hpp"
#include "cnn/data/dataset.hpp"
#include "cnn/model.hpp"
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
  bool json = false;
  std::size_t tta_shift = 0;
  std::size_t tta_views = 5;
};

// --tta-shift and --tta-views as the library's test-time augmentation (none for --tta-shift 0).
TestTimeAugmentation test_time_augmentation(const EvalArgs& args) {
  return args.tta_shift == 0 ? TestTimeAugmentation{}
                             : TestTimeAugmentation::shifted(args.tta_shift, args.tta_views);
}

// Lines for the reader; with --json they go to standard error, so that standard output holds
// only the JSON document.
std::FILE* report_stream(const EvalArgs& args) {
  return args.json ? stderr : stdout;
}

// The images to evaluate: the data's test set, or where it has none all its images; image folders
// converted and resized to the model's input, CSV rows read in its shape; labelled as the model
// names its classes and normalised as it was trained.
Dataset evaluation_set(const EvalArgs& args, const Model& model) {
  DataOptions options = data_options(args.data, true);
  const Shape& input = model.input_shape();
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
  std::fputs(data_report(args.data, source).c_str(), report_stream(args));
  Dataset set = source.test ? *source.test : source.train;
  if (!source.test) {
    std::fprintf(report_stream(args),
                 "note: %s has no test set: evaluating its %zu training images%s\n",
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
  // Model::evaluate normalises the images as the model was trained.
  return relabel_for(set, model.class_names(), args.data.path);
}

// The evaluation as one JSON document (--json).
nlohmann::json evaluation_json(const EvalArgs& args, const Model& model, const Dataset& test,
                               const Evaluation& evaluation, double seconds) {
  const std::vector<std::string> names = model.class_names();
  nlohmann::json classes = nlohmann::json::array();
  nlohmann::json confusion = nlohmann::json::array();
  for (std::size_t c = 0; c < evaluation.classes; ++c) {
    classes.push_back({{"class", c},
                       {"name", names[c]},
                       {"images", evaluation.class_count(c)},
                       {"accuracy", evaluation.class_accuracy(c)}});
    confusion.push_back(std::vector<std::size_t>(
        evaluation.confusion.begin() + static_cast<std::ptrdiff_t>(c * evaluation.classes),
        evaluation.confusion.begin() + static_cast<std::ptrdiff_t>((c + 1) * evaluation.classes)));
  }
  nlohmann::json result = {{"model", args.model},
                           {"preset", model.info().preset},
                           {"parameters", model.parameter_count()},
                           {"data", args.data.path},
                           {"images", test.size()},
                           {"correct", evaluation.correct()},
                           {"accuracy", evaluation.accuracy()},
                           {"seconds", seconds},
                           {"batch", args.batch},
                           {"threads", num_threads()},
                           {"tta", args.tta_shift == 0 ? nlohmann::json(nullptr)
                                                       : nlohmann::json{{"shift", args.tta_shift},
                                                                        {"views", args.tta_views}}},
                           {"classes", classes},
                           // confusion[true class][predicted class]
                           {"confusion", confusion}};
  if (!args.predictions_out.empty()) result["predictions_out"] = args.predictions_out;
  return result;
}

int run_eval(const EvalArgs& args) {
  require_data_path(args.data.path);
  refuse_same_file(args.predictions_out, "--predictions-out", args.model, "the --model file");
  refuse_same_file(args.predictions_out, "--predictions-out", args.data.path, "the --data file");
  set_num_threads(args.threads);
  const Model model = Model::load(args.model);
  const Dataset test = evaluation_set(args, model);
  const std::vector<std::string> names = model.class_names();
  const auto start = std::chrono::steady_clock::now();
  const TestTimeAugmentation tta = test_time_augmentation(args);
  const Evaluation evaluation = model.evaluate(test, args.batch, tta);
  const double accuracy = evaluation.accuracy();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!args.predictions_out.empty()) {
    write_predictions_csv(args.predictions_out, test, evaluation, "--predictions-out");
  }
  if (args.json) {
    std::printf("%s\n", evaluation_json(args, model, test, evaluation, seconds).dump(2).c_str());
    return 0;
  }
  std::printf("model %s (preset %s, %zu parameters)\n", args.model.c_str(),
              model.info().preset.c_str(), model.parameter_count());
  if (tta.enabled()) std::printf("test-time augmentation: %s\n", tta.describe().c_str());
  std::printf("test accuracy %.4f (%zu images)\n", accuracy, test.size());
  std::printf("inference time %.3f s (%.0f images/s, batch %zu, %zu thread%s)\n", seconds,
              static_cast<double>(test.size()) / seconds, args.batch, num_threads(),
              num_threads() == 1 ? "" : "s");
  std::printf("%s%s", evaluation.class_accuracy_text(names).c_str(),
              evaluation.confusion_text(names).c_str());
  if (!args.predictions_out.empty()) {
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
  cmd->add_option("--batch", args->batch,
                  "Most images per forward pass (fewer where more images' activations would not "
                  "stay in the cache; the results are the same bits)")
      ->check(integer_at_least(1, 1 << 16))
      ->capture_default_str();
  add_threads_option(*cmd, args->threads);
  cmd->add_option("--predictions-out", args->predictions_out,
                  "Write every test image's label, predicted class, confidence and logits to this "
                  "CSV file (the format of the run folder's test_predictions.csv)")
      ->type_name("FILE");
  CLI::Option* tta_shift =
      cmd->add_option("--tta-shift", args->tta_shift,
                      "Test-time augmentation (opt-in): also show the model each image moved this "
                      "many pixels (up, down, left, right; --tta-views 9 adds the diagonals) and "
                      "predict by the mean of the views' softmax; 0 = none")
          ->check(integer_at_least(0, 1000))
          ->capture_default_str();
  cmd->add_option("--tta-views", args->tta_views,
                  "Views of each image with --tta-shift: 5 (as it is, up, down, left, right) or 9 "
                  "(and the four diagonals)")
      ->check(CLI::IsMember({5, 9}))
      ->needs(tta_shift)
      ->capture_default_str();
  cmd->add_flag("--json", args->json,
                "Print the results as one JSON document (accuracy, per-class accuracy, confusion "
                "matrix); the data report goes to standard error");
  return [args] { return run_eval(*args); };
}

}  // namespace cnn::cli
