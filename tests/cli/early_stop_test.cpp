// --early-stop N and --keep-best on the real program, on the small synthetic data set of the CLI
// tests (whose validation accuracy plateaus within a few epochs): the run stops before the
// planned iterations, the saved model is the best validation run's weights, a run resumed in the
// middle ends the same, the model file, the metrics and run.json say what happened, and both are
// refused without validation images. And --no-test, for runs that choose settings on the
// validation split: no test figure anywhere.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "cnn/io/checkpoint.hpp"
#include "cnn/io/model_file.hpp"
#include "cnn/io/run_log.hpp"

namespace {

namespace fs = std::filesystem;
using cnn::testing::CliResult;
using cnn::testing::Contains;
using cnn::testing::lines_of;
using cnn::testing::read_text;
using cnn::testing::run_cli;

class EarlyStopTest : public cnn::testing::SyntheticDataTest<300, 50> {
 protected:
  // 250 training images at batch 8: 32 iterations an epoch.
  std::vector<std::string> training(std::size_t iterations,
                                    const std::vector<std::string>& flags) const {
    std::vector<std::string> args = {
        "train",   "--data",    data(), "--val",        "50",
        "--batch", "8",         "--lr", "0.05",         "--seed",
        "3",       "--threads", "1",    "--iterations", std::to_string(iterations),
        "--quiet"};
    args.insert(args.end(), flags.begin(), flags.end());
    return args;
  }

  static std::string line_starting(const std::string& out, const std::string& prefix) {
    for (const std::string& line : lines_of(out)) {
      if (line.rfind(prefix, 0) == 0) return line;
    }
    return "(no line '" + prefix + "')";
  }

  // The parameter and buffer values of a model file.
  static std::vector<std::vector<float>> weights(const fs::path& file) {
    cnn::LoadedModel loaded = cnn::load_model(file);
    std::vector<std::vector<float>> values;
    for (const cnn::Parameter& p : loaded.model.parameters()) {
      values.emplace_back(p.value->data(), p.value->data() + p.value->size());
    }
    return values;
  }
};

TEST_F(EarlyStopTest, StopsWhenValidationAccuracyPlateausAndSaysSoEverywhere) {
  const CliResult r = run_cli(
      training(3200, {"--early-stop", "3", "--out", "run", "--save", "model.safetensors"}), dir_);
  ASSERT_EQ(r.status, 0) << r;
  const std::string stop = line_starting(r.out, "early stop at iteration ");
  ASSERT_TRUE(Contains(stop, "no better validation accuracy in 3 runs")) << r;
  const std::size_t stopped_at =
      std::stoul(stop.substr(std::string("early stop at iteration ").size()));
  EXPECT_LT(stopped_at, 3200u);

  // Validated once per epoch (the default with --early-stop); the log ends at the stop, whose
  // line holds the third validation run in a row no better than the best before them.
  const std::vector<cnn::MetricsRow> rows = cnn::read_metrics(dir_ / "run/metrics.csv");
  ASSERT_EQ(rows.back().step, stopped_at);
  std::vector<std::pair<std::size_t, double>> validations;
  for (const cnn::MetricsRow& row : rows) {
    if (row.validation_accuracy) validations.emplace_back(row.step, *row.validation_accuracy);
  }
  ASSERT_GE(validations.size(), 4u);
  for (const auto& [step, accuracy] : validations) EXPECT_EQ(step % 32, 0u) << step;
  EXPECT_EQ(validations.back().first, stopped_at);
  double best_before = 0;
  for (std::size_t i = 0; i + 3 < validations.size(); ++i) {
    best_before = std::max(best_before, validations[i].second);
  }
  for (std::size_t i = validations.size() - 3; i < validations.size(); ++i) {
    EXPECT_LE(validations[i].second, best_before) << "validation at " << validations[i].first;
  }

  const cnn::LoadedModel model = cnn::load_model(dir_ / "model.safetensors");
  EXPECT_EQ(model.info.extra.at("early_stop"), "3");
  EXPECT_EQ(model.info.extra.at("stopped_at"), std::to_string(stopped_at));
  EXPECT_EQ(model.info.extra.at("iterations"), "3200");
  EXPECT_TRUE(Contains(line_starting(r.out, "summary: " + std::to_string(stopped_at) + " of 3200"),
                       "(early stop)"))
      << r;
  const nlohmann::json record = nlohmann::json::parse(read_text(dir_ / "run/run.json"));
  EXPECT_EQ(record.at("status"), "finished");
  EXPECT_EQ(record.at("stopped_early"), true);
  EXPECT_EQ(record.at("iterations"), stopped_at);
}

TEST_F(EarlyStopTest, KeepBestSavesTheWeightsOfTheBestValidationRun) {
  const CliResult r = run_cli(training(320, {"--keep-best", "--eval-every", "20", "--out", "run",
                                             "--save", "best.safetensors"}),
                              dir_);
  ASSERT_EQ(r.status, 0) << r;
  const std::string kept = line_starting(r.out, "keeping the best model: validation run ");
  std::size_t run_number = 0, runs = 0, iteration = 0;
  double accuracy = 0;
  ASSERT_EQ(std::sscanf(kept.c_str(),
                        "keeping the best model: validation run %zu of %zu, iteration %zu, "
                        "accuracy %lf",
                        &run_number, &runs, &iteration, &accuracy),
            4)
      << r;
  EXPECT_EQ(runs, 16u);
  EXPECT_EQ(iteration, 20 * run_number);

  // The best of the logged validation accuracies, the first of equals.
  const std::vector<cnn::MetricsRow> rows = cnn::read_metrics(dir_ / "run/metrics.csv");
  std::size_t best_step = 0;
  double best = -1;
  for (const cnn::MetricsRow& row : rows) {
    if (row.validation_accuracy && *row.validation_accuracy > best) {
      best = *row.validation_accuracy;
      best_step = row.step;
    }
  }
  EXPECT_EQ(best_step, iteration);
  EXPECT_NEAR(best, accuracy, 5e-5);
  // The validation accuracy printed for the saved model is the best run's.
  char printed[64];
  std::snprintf(printed, sizeof printed, "validation accuracy %.4f (50 images)", accuracy);
  EXPECT_EQ(line_starting(r.out, "validation accuracy "), printed) << r;

  // The saved weights are those of a run trained for exactly that many iterations.
  const CliResult shorter =
      run_cli(training(iteration, {"--eval-every", "20", "--save", "short.safetensors"}), dir_);
  ASSERT_EQ(shorter.status, 0) << shorter;
  EXPECT_EQ(weights(dir_ / "best.safetensors"), weights(dir_ / "short.safetensors"));
  EXPECT_TRUE(read_text(dir_ / "best.safetensors") == read_text(dir_ / "run/model.safetensors"));
  const cnn::LoadedModel model = cnn::load_model(dir_ / "best.safetensors");
  EXPECT_EQ(model.info.extra.at("keep_best"), "1");
  EXPECT_EQ(model.info.extra.at("best_validation_iteration"), std::to_string(iteration));
  EXPECT_EQ(model.info.extra.at("validation_accuracy"),
            cnn::load_model(dir_ / "short.safetensors").info.extra.at("validation_accuracy"));
  EXPECT_EQ(model.info.extra.count("early_stop"), 0u);
}

TEST_F(EarlyStopTest, ARunResumedInTheMiddleEndsTheSame) {
  const std::vector<std::string> flags = {"--early-stop",       "3",      "--keep-best",
                                          "--checkpoint-every", "45",     "--checkpoint",
                                          "run.ckpt",           "--save", "straight.safetensors"};
  const CliResult straight = run_cli(training(3200, flags), dir_);
  ASSERT_EQ(straight.status, 0) << straight;
  const cnn::Checkpoint checkpoint = cnn::load_checkpoint(dir_ / "run.ckpt");
  // The checkpoint left is after a validation run (so it holds best weights) and before the stop.
  ASSERT_TRUE(checkpoint.extras.values.contains("best_validation_accuracy"));
  EXPECT_FALSE(checkpoint.extras.best.empty());
  EXPECT_EQ(checkpoint.info.extra.at("early_stop"), "3");
  EXPECT_EQ(checkpoint.info.extra.at("keep_best"), "1");

  const CliResult resumed = run_cli({"train", "--data", data(), "--resume", "run.ckpt", "--save",
                                     "resumed.safetensors", "--quiet"},
                                    dir_);
  ASSERT_EQ(resumed.status, 0) << resumed;
  EXPECT_EQ(line_starting(resumed.out, "keeping the best model"),
            line_starting(straight.out, "keeping the best model"));
  EXPECT_TRUE(read_text(dir_ / "resumed.safetensors") == read_text(dir_ / "straight.safetensors"))
      << "the resumed run's model differs from the uninterrupted run's";

  // A resume may not switch --keep-best off or change --early-stop.
  const CliResult changed = run_cli(
      {"train", "--data", data(), "--resume", "run.ckpt", "--early-stop", "5", "--quiet"}, dir_);
  EXPECT_EQ(changed.status, 2) << changed;
  EXPECT_TRUE(Contains(changed.err, "--early-stop: the checkpoint's run used 3, not 5")) << changed;
}

TEST_F(EarlyStopTest, BothAreRefusedWithoutValidationImages) {
  for (const char* flag : {"--early-stop", "--keep-best"}) {
    std::vector<std::string> args = {"train", "--data", data(), "--val", "0", flag};
    if (std::string(flag) == "--early-stop") args.push_back("4");
    const CliResult r = run_cli(args, dir_);
    EXPECT_EQ(r.status, 2) << r;
    EXPECT_EQ(lines_of(r.err).size(), 1u) << r;
    EXPECT_TRUE(Contains(r.err, std::string("cnn: error: ") + flag + ": needs validation images"))
        << r;
    EXPECT_TRUE(Contains(r.err, "--val 0 holds none out")) << r;
    EXPECT_FALSE(fs::exists(dir_ / "runs")) << "nothing is written for a refused run";
  }
}

TEST_F(EarlyStopTest, NoTestComputesNoTestFigure) {
  const CliResult with = run_cli(training(40, {"--out", "with"}), dir_);
  ASSERT_EQ(with.status, 0) << with;
  EXPECT_TRUE(Contains(with.out, "test accuracy ")) << with;
  const CliResult r = run_cli(training(40, {"--no-test", "--out", "run"}), dir_);
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_EQ(r.out.find("test accuracy"), std::string::npos) << r;
  EXPECT_TRUE(Contains(r.out,
                       "test set left out (--no-test): the confusion matrix and the pictures "
                       "show the validation images"))
      << r;
  const nlohmann::json record = nlohmann::json::parse(read_text(dir_ / "run/run.json"));
  EXPECT_EQ(record.at("no_test"), true);
  EXPECT_FALSE(record.contains("test_accuracy")) << record.dump();
  // The same training: only the report differs.
  EXPECT_EQ(line_starting(r.out, "validation accuracy "),
            line_starting(with.out, "validation accuracy "));
}

}  // namespace
