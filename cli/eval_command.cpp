// cnn eval: test accuracy of a saved model.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "cnn/core/parallel.hpp"
#include "cnn/data/dataset.hpp"
#include "cnn/io/model_file.hpp"
#include "cnn/train/evaluation.hpp"
#include "cnn/train/training.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "predictions_csv.hpp"

namespace cnn::cli {

namespace {

struct EvalArgs {
  std::string model;
  std::string data;
  std::size_t batch = 100;
  std::size_t threads = 0;
  std::string predictions_out;
};

int run_eval(const EvalArgs& args) {
  require_data_folder(args.data);
  set_num_threads(args.threads);
  LoadedModel loaded = load_model(args.model);
  const Dataset test = load_mnist_test(args.data, loaded.info.classes);
  if (!(test.image_shape() == loaded.info.input)) {
    throw std::runtime_error("the model takes images " + loaded.info.input.to_string() + " but " +
                             args.data + " holds " + test.image_shape().to_string());
  }
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
  std::printf("%s%s", evaluation.class_accuracy_text(loaded.info.class_names).c_str(),
              evaluation.confusion_text(loaded.info.class_names).c_str());
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
  add_data_option(*cmd, args->data);
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
