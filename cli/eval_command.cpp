// cnn eval: test accuracy of a saved model.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "cnn/core/parallel.hpp"
#include "cnn/data/dataset.hpp"
#include "cnn/io/model_file.hpp"
#include "cnn/train/evaluation.hpp"
#include "cnn/train/training.hpp"
#include "commands.hpp"
#include "options.hpp"

namespace cnn::cli {

namespace {

struct EvalArgs {
  std::string model;
  std::string data;
  std::size_t batch = 100;
  std::size_t threads = 0;
  std::string predictions_out;
};

// One line per test image: index, label, predicted class and the raw logits, for comparing with
// other tools (tests/interop/pytorch_interop.py) or analysing mistakes.
void write_predictions(const std::string& path, const Dataset& test, const Evaluation& e) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) {
    throw std::runtime_error("--predictions-out: cannot create '" + path +
                             "': " + std::strerror(errno));
  }
  std::fprintf(file, "index,label,predicted");
  for (std::size_t c = 0; c < e.classes; ++c) std::fprintf(file, ",logit_%zu", c);
  std::fprintf(file, "\n");
  for (std::size_t i = 0; i < e.images(); ++i) {
    std::fprintf(file, "%zu,%d,%d", i, test.label(i), e.predicted[i]);
    for (std::size_t c = 0; c < e.classes; ++c) {
      // 9 significant digits: a float32 exactly.
      std::fprintf(file, ",%.9g", static_cast<double>(e.logits[i * e.classes + c]));
    }
    std::fprintf(file, "\n");
  }
  if (std::fclose(file) != 0) {
    throw std::runtime_error("--predictions-out: cannot write '" + path + "'");
  }
}

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
  std::printf("per-class accuracy:");
  for (std::size_t c = 0; c < evaluation.classes; ++c) {
    std::printf(" %zu: %.4f", c, evaluation.class_accuracy(c));
  }
  std::printf("\n%s", evaluation.confusion_text().c_str());
  if (!args.predictions_out.empty()) {
    write_predictions(args.predictions_out, test, evaluation);
    std::printf("wrote predictions and logits of every test image to %s\n",
                args.predictions_out.c_str());
  }
  return 0;
}

}  // namespace

Command add_eval_command(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand(
      "eval", "Report the test accuracy, per-class accuracy and confusion matrix of a saved model");
  cmd->add_option("--model", args->model, "Model file written by 'cnn train --save'")->required();
  add_data_option(*cmd, args->data);
  cmd->add_option("--batch", args->batch, "Images per forward pass")
      ->check(integer_at_least(1, 1 << 16))
      ->capture_default_str();
  add_threads_option(*cmd, args->threads);
  cmd->add_option("--predictions-out", args->predictions_out,
                  "Write index, label, predicted class and logits of every test image to this "
                  "CSV file");
  return [args] { return run_eval(*args); };
}

}  // namespace cnn::cli
