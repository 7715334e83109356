// Runs the real cnn program: help texts, usage errors (exit code 2, one line naming the flag),
// data and model file errors (exit code 1), and a small end-to-end train/eval run on a synthetic
// dataset that is quick to learn.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "cnn/data/idx.hpp"
#include "cnn/data/image.hpp"

namespace {

namespace fs = std::filesystem;

using cnn::testing::Contains;
using cnn::testing::lines_of;
using cnn::testing::read_text;
using cnn::testing::run_cli;
using cnn::testing::synthetic_split;
using Result = cnn::testing::CliResult;
using cnn::testing::kMnistFiles;

// The figure after "<label> " on the first line of text that starts with label, or "".
std::string figure_after(const std::string& text, const std::string& label) {
  for (const std::string& line : lines_of(text)) {
    if (line.rfind(label + " ", 0) == 0) {
      const std::string rest = line.substr(label.size() + 1);
      return rest.substr(0, rest.find(' '));
    }
  }
  return {};
}

// Writes the synthetic dataset (train_count training and test_count test images) into dir,
// leaving out the file named skip.
void write_dataset(const fs::path& dir, std::size_t train_count, std::size_t test_count,
                   const std::string& skip = "") {
  cnn::IdxImages train_images, test_images;
  std::vector<std::uint8_t> train_labels, test_labels;
  synthetic_split(train_count, 1, train_images, train_labels);
  synthetic_split(test_count, 2, test_images, test_labels);
  // Mix raw and gzip files, as load_mnist accepts both.
  if (skip != kMnistFiles[0]) cnn::write_idx_images(dir / kMnistFiles[0], train_images, false);
  if (skip != kMnistFiles[1]) cnn::write_idx_labels(dir / kMnistFiles[1], train_labels, false);
  if (skip != kMnistFiles[2]) {
    cnn::write_idx_images(dir / (std::string(kMnistFiles[2]) + ".gz"), test_images, true);
  }
  if (skip != kMnistFiles[3]) cnn::write_idx_labels(dir / kMnistFiles[3], test_labels, false);
}

class CliTest : public testing::Test {
 protected:
  // One synthetic dataset of 200 training and 50 test images for the whole suite.
  static void SetUpTestSuite() {
    std::random_device random;
    root_ = new fs::path(fs::temp_directory_path() / ("cnn-cli-test-" + std::to_string(getpid()) +
                                                      "-" + std::to_string(random())));
    fs::create_directories(*root_ / "data");
    write_dataset(*root_ / "data", 200, 50);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*root_, ec);
    delete root_;
    root_ = nullptr;
  }

  void SetUp() override {
    const std::string test_name = testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = *root_ / test_name;
    ASSERT_TRUE(fs::create_directory(dir_));
  }

  static std::string data() { return (*root_ / "data").string(); }
  Result run(const std::vector<std::string>& args) const { return run_cli(args, dir_); }

  // args must fail with exit code 2, one "cnn: error:" line naming each of phrases, at most a
  // "--help" hint after it, and nothing on stdout (nothing was run).
  void expect_usage_error(const std::vector<std::string>& args,
                          const std::vector<std::string>& phrases) const {
    std::string command;
    for (const std::string& a : args) command += " " + a;
    SCOPED_TRACE("cnn" + command);
    const Result r = run(args);
    EXPECT_EQ(r.status, 2) << r;
    EXPECT_EQ(r.out, "") << r;
    const std::vector<std::string> lines = lines_of(r.err);
    ASSERT_FALSE(lines.empty()) << r;
    EXPECT_EQ(lines[0].rfind("cnn: error: ", 0), 0u) << r;
    for (const std::string& phrase : phrases) EXPECT_TRUE(Contains(lines[0], phrase));
    EXPECT_LE(lines.size(), 2u) << r;
    if (lines.size() == 2) {
      EXPECT_TRUE(Contains(lines[1], "--help")) << r;
    }
  }

  static fs::path* root_;
  fs::path dir_;
};

fs::path* CliTest::root_ = nullptr;

// ---- help ----------------------------------------------------------------------------------

TEST_F(CliTest, HelpTextsListTheFlags) {
  const Result top = run({"--help"});
  EXPECT_EQ(top.status, 0) << top;
  EXPECT_TRUE(Contains(top.out, "train"));
  EXPECT_TRUE(Contains(top.out, "eval"));

  const Result train = run({"train", "--help"});
  EXPECT_EQ(train.status, 0) << train;
  for (const char* flag : {"--data", "--preset", "--batch", "--iterations", "--epochs", "--lr",
                           "--momentum", "--decay", "--seed", "--val", "--threads", "--save"}) {
    EXPECT_TRUE(Contains(train.out, flag));
  }
  EXPECT_TRUE(Contains(train.out, "seed")) << "the presets should be listed";

  const Result eval = run({"eval", "--help"});
  EXPECT_EQ(eval.status, 0) << eval;
  for (const char* flag : {"--model", "--data", "--batch", "--threads", "--predictions-out"}) {
    EXPECT_TRUE(Contains(eval.out, flag));
  }

  for (const char* command : {"predict", "info", "plot"}) EXPECT_TRUE(Contains(top.out, command));
  const Result predict = run({"predict", "--help"});
  EXPECT_EQ(predict.status, 0) << predict;
  for (const char* flag : {"--model", "--json", "--top", "--save-prepared", "IMAGE"}) {
    EXPECT_TRUE(Contains(predict.out, flag));
  }
  for (const char* flag : {"--out", "--quiet", "--eval-every", "--log-every"}) {
    EXPECT_TRUE(Contains(train.out, flag));
  }
}

// ---- usage errors --------------------------------------------------------------------------

TEST_F(CliTest, BadFlagValuesAreUsageErrors) {
  const std::string d = data();
  expect_usage_error({"train", "--data", d, "--batch", "0"}, {"--batch", "'0'"});
  expect_usage_error({"train", "--data", d, "--batch", "x"}, {"--batch", "'x'"});
  expect_usage_error({"train", "--data", d, "--lr", "-1"}, {"--lr", "'-1'"});
  expect_usage_error({"train", "--data", d, "--lr", "0"}, {"--lr", "> 0"});
  expect_usage_error({"train", "--data", d, "--lr", "abc"}, {"--lr", "'abc'"});
  expect_usage_error({"train", "--data", d, "--lr", "nan"}, {"--lr"});
  expect_usage_error({"train", "--data", d, "--momentum", "1.5"}, {"--momentum", "'1.5'"});
  expect_usage_error({"train", "--data", d, "--decay", "-0.1"}, {"--decay"});
  expect_usage_error({"train", "--data", d, "--preset", "nope"}, {"--preset", "nope", "seed"});
  expect_usage_error({"train", "--data", d, "--threads", "-1"}, {"--threads", "'-1'"});
  expect_usage_error({"train", "--data", d, "--iterations", "0"}, {"--iterations", "'0'"});
  expect_usage_error({"train", "--data", d, "--seed", "-5"}, {"--seed"});
  expect_usage_error({"train", "--data", d, "--val", "-1"}, {"--val"});
  expect_usage_error({"eval", "--model", "m", "--data", d, "--batch", "0"}, {"--batch"});
  expect_usage_error({"eval", "--model", "m", "--data", d, "--threads", "many"}, {"--threads"});
  expect_usage_error({"eval", "--model", "m", "--data", d, "--tta-shift", "-1"}, {"--tta-shift"});
  expect_usage_error({"eval", "--model", "m", "--data", d, "--tta-shift", "1", "--tta-views", "7"},
                     {"--tta-views"});
  expect_usage_error({"eval", "--model", "m", "--data", d, "--tta-views", "9"},
                     {"--tta-views", "--tta-shift"});
}

TEST_F(CliTest, BadCommandLinesAreUsageErrors) {
  const std::string d = data();
  expect_usage_error({"train", "--data", d, "--iterations", "5", "--epochs", "2"},
                     {"--iterations", "--epochs"});
  expect_usage_error({"train", "--data", d, "--bogus"}, {"--bogus"});
  expect_usage_error({"train", "--data", d, "--lr"}, {"--lr"});
  expect_usage_error({"train", "--data", d, "stray"}, {"stray"});
  expect_usage_error({}, {"command", "train", "eval"});
  expect_usage_error({"frob"}, {"'frob'", "train", "eval"});
  expect_usage_error({"--bogus"}, {"'--bogus'"});
  expect_usage_error({"train"}, {"--data"});
  expect_usage_error({"eval", "--data", d}, {"--model"});
  expect_usage_error({"eval", "--model", "m"}, {"--data"});
}

TEST_F(CliTest, SaveIntoAMissingFolderIsAUsageError) {
  const std::string target = (dir_ / "no-such-folder" / "model.safetensors").string();
  expect_usage_error({"train", "--data", data(), "--save", target},
                     {"--save", (dir_ / "no-such-folder").string()});
}

TEST_F(CliTest, SaveOntoAFolderIsAUsageError) {
  expect_usage_error({"train", "--data", data(), "--save", dir_.string()}, {"--save", "folder"});
}

TEST_F(CliTest, EvalNeedsOnlyTheTestFiles) {
  const Result trained = run({"train", "--data", data(), "--iterations", "5", "--val", "50",
                              "--save", (dir_ / "m.safetensors").string()});
  ASSERT_EQ(trained.status, 0) << trained;
  const fs::path test_only = dir_ / "test-only";
  fs::create_directory(test_only);
  write_dataset(test_only, 20, 10, "train-images-idx3-ubyte");
  fs::remove(test_only / "train-labels-idx1-ubyte");
  const Result r =
      run({"eval", "--model", (dir_ / "m.safetensors").string(), "--data", test_only.string()});
  EXPECT_EQ(r.status, 0) << r;
  EXPECT_TRUE(Contains(r.out, "(10 images)"));
}

TEST_F(CliTest, MissingDataFolderSaysHowToFetchIt) {
  const std::string missing = (dir_ / "no-mnist-here").string();
  for (const char* command : {"train", "eval"}) {
    SCOPED_TRACE(command);
    std::vector<std::string> args = {command, "--data", missing};
    if (std::string(command) == "eval") args.insert(args.end(), {"--model", "m.safetensors"});
    const Result r = run(args);
    EXPECT_EQ(r.status, 2) << r;
    EXPECT_TRUE(Contains(r.err, "--data"));
    EXPECT_TRUE(Contains(r.err, missing));
    EXPECT_TRUE(Contains(r.err, "scripts/fetch-mnist.sh"));
    EXPECT_EQ(lines_of(r.err).size(), 1u) << r;
  }
}

TEST_F(CliTest, DataFolderMissingAFileNamesIt) {
  for (const char* skip : {"train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"}) {
    SCOPED_TRACE(skip);
    const fs::path folder = dir_ / skip;
    fs::create_directory(folder);
    write_dataset(folder, 20, 10, skip);
    const Result r = run({"train", "--data", folder.string(), "--iterations", "1", "--val", "5"});
    EXPECT_EQ(r.status, 1) << r;
    EXPECT_TRUE(Contains(r.err, "cnn: error: "));
    EXPECT_TRUE(Contains(r.err, skip));
    EXPECT_TRUE(Contains(r.err, "not found"));
    EXPECT_EQ(lines_of(r.err).size(), 1u) << r;
  }
}

TEST_F(CliTest, ValidationSplitMustLeaveTrainingImages) {
  for (const char* val : {"200", "250"}) {
    SCOPED_TRACE(val);
    const Result r = run({"train", "--data", data(), "--iterations", "1", "--val", val});
    EXPECT_EQ(r.status, 2) << r;
    EXPECT_TRUE(Contains(r.err, "--val"));
    EXPECT_TRUE(Contains(r.err, "200 training images"));
    EXPECT_EQ(lines_of(r.err).size(), 1u) << r;
  }
}

TEST_F(CliTest, EvalOfAMissingModelNamesTheFile) {
  const std::string model = (dir_ / "missing.safetensors").string();
  const Result r = run({"eval", "--model", model, "--data", data()});
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(Contains(r.err, model));
  EXPECT_TRUE(Contains(r.err, "no such file"));
  EXPECT_EQ(lines_of(r.err).size(), 1u) << r;
}

TEST_F(CliTest, EvalOfABrokenModelNamesTheFile) {
  const fs::path model = dir_ / "broken.safetensors";
  std::ofstream(model) << "not a model file";
  const Result r = run({"eval", "--model", model.string(), "--data", data()});
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(Contains(r.err, model.string()));
  EXPECT_TRUE(Contains(r.err, "header length"));
}

// ---- end to end ----------------------------------------------------------------------------

TEST_F(CliTest, TrainThenEvalGivesTheSameAccuracyAndIsDeterministic) {
  const auto train = [&](const std::string& threads, const std::string& file) {
    return run({"train", "--data", data(), "--iterations", "200", "--batch", "8", "--val", "50",
                "--lr", "0.05", "--seed", "1", "--threads", threads, "--save",
                (dir_ / file).string()});
  };
  const Result first = train("1", "model.safetensors");
  ASSERT_EQ(first.status, 0) << first;
  EXPECT_EQ(first.err, "");
  EXPECT_TRUE(Contains(first.out, "training preset 'seed' on 150 images (50 held out"));
  EXPECT_TRUE(Contains(first.out, "1 thread\n"));
  EXPECT_NE(figure_after(first.out, "training time"), "") << first;
  EXPECT_NE(figure_after(first.out, "validation accuracy"), "") << first;
  const std::string accuracy = figure_after(first.out, "test accuracy");
  ASSERT_NE(accuracy, "") << first;
  EXPECT_GT(std::stod(accuracy), 0.8) << first;
  EXPECT_TRUE(Contains(first.out, "saved model to " + (dir_ / "model.safetensors").string()));

  const Result eval = run({"eval", "--model", (dir_ / "model.safetensors").string(), "--data",
                           data(), "--threads", "1"});
  ASSERT_EQ(eval.status, 0) << eval;
  EXPECT_TRUE(Contains(eval.out, "preset seed"));
  EXPECT_EQ(figure_after(eval.out, "test accuracy"), accuracy) << eval;

  // A barely trained model is right only some of the time, which makes for a sharper check that
  // eval computes what train reported.
  const Result weak = run({"train", "--data", data(), "--iterations", "3", "--batch", "8", "--val",
                           "50", "--lr", "0.05", "--seed", "1", "--threads", "1", "--save",
                           (dir_ / "weak.safetensors").string()});
  ASSERT_EQ(weak.status, 0) << weak;
  const std::string weak_accuracy = figure_after(weak.out, "test accuracy");
  EXPECT_LT(std::stod(weak_accuracy), 0.8) << weak;
  const Result weak_eval = run(
      {"eval", "--model", (dir_ / "weak.safetensors").string(), "--data", data(), "--batch", "7"});
  ASSERT_EQ(weak_eval.status, 0) << weak_eval;
  EXPECT_EQ(figure_after(weak_eval.out, "test accuracy"), weak_accuracy) << weak_eval;
  EXPECT_FALSE(Contains(weak_eval.out, "test-time augmentation")) << weak_eval;
  // Test-time augmentation is opt-in, says what it did, and gives a figure of its own.
  const Result tta = run({"eval", "--model", (dir_ / "weak.safetensors").string(), "--data", data(),
                          "--tta-shift", "2", "--tta-views", "9", "--json"});
  ASSERT_EQ(tta.status, 0) << tta;
  const nlohmann::json tta_json = nlohmann::json::parse(tta.out);
  EXPECT_EQ(tta_json["tta"]["shift"], 2) << tta;
  EXPECT_EQ(tta_json["tta"]["views"], 9) << tta;
  EXPECT_GT(tta_json["accuracy"].get<double>(), 0.0) << tta;
  const Result tta_text = run({"eval", "--model", (dir_ / "weak.safetensors").string(), "--data",
                               data(), "--tta-shift", "1"});
  ASSERT_EQ(tta_text.status, 0) << tta_text;
  EXPECT_TRUE(Contains(tta_text.out,
                       "test-time augmentation: each image and its 4 copies moved 1 pixel up, "
                       "down, left and right; mean of the softmax\ntest accuracy"))
      << tta_text;

  // The same seed and thread count give the same file, byte for byte.
  const Result again = train("1", "again.safetensors");
  ASSERT_EQ(again.status, 0) << again;
  EXPECT_EQ(read_text(dir_ / "again.safetensors"), read_text(dir_ / "model.safetensors"));

  const Result two_a = train("2", "two-a.safetensors");
  const Result two_b = train("2", "two-b.safetensors");
  ASSERT_EQ(two_a.status, 0) << two_a;
  ASSERT_EQ(two_b.status, 0) << two_b;
  EXPECT_TRUE(Contains(two_a.out, "2 threads\n"));
  EXPECT_EQ(read_text(dir_ / "two-a.safetensors"), read_text(dir_ / "two-b.safetensors"));

  // Nothing but the models and the captured output is left in the folder.
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  }
}

// ---- run folder, progress output, pictures ---------------------------------------------------

// True when text has a byte that a terminal would interpret (control characters but newline).
bool has_control_characters(const std::string& text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && byte != '\n') || byte == 0x7f;
  });
}

std::size_t line_count(const fs::path& path) {
  return lines_of(read_text(path)).size();
}

TEST_F(CliTest, TrainWritesARunFolderWithLogModelAndPictures) {
  const fs::path run_dir = dir_ / "run";
  const Result r = run({"train",
                        "--data",
                        data(),
                        "--iterations",
                        "40",
                        "--batch",
                        "8",
                        "--val",
                        "50",
                        "--lr",
                        "0.05",
                        "--threads",
                        "1",
                        "--out",
                        run_dir.string(),
                        "--eval-every",
                        "20",
                        "--log-every",
                        "4",
                        "--report-every",
                        "20"});
  ASSERT_EQ(r.status, 0) << r;
  // Piped output: plain lines, no progress bar, no control characters.
  EXPECT_FALSE(has_control_characters(r.out)) << r;
  EXPECT_TRUE(Contains(r.out, "iteration     20/40  epoch 2  loss "));
  EXPECT_TRUE(Contains(r.out, "iteration     20/40  epoch 2  validation accuracy "));
  EXPECT_TRUE(Contains(r.out, "confusion matrix (rows: true class, columns: predicted class)"));
  EXPECT_TRUE(Contains(r.out, "run folder " + run_dir.string()));
  for (const char* file : {"metrics.csv", "model.safetensors", "test_predictions.csv",
                           "samples.png", "loss.png", "predictions.png", "confusion.png"}) {
    EXPECT_TRUE(fs::is_regular_file(run_dir / file)) << file;
  }
  // Header, a line every 4 iterations (10 lines), none extra: evaluations (20, 40) fall on them.
  // (150 training images in batches of 8: epoch 2 starts at iteration 20.)
  const std::vector<std::string> metrics = lines_of(read_text(run_dir / "metrics.csv"));
  ASSERT_EQ(metrics.size(), 11u) << read_text(run_dir / "metrics.csv");
  EXPECT_EQ(metrics[0],
            "step,epoch,loss,learning_rate,validation_accuracy,images_per_second,"
            "wall_seconds");
  EXPECT_EQ(metrics[1].rfind("4,1,", 0), 0u) << metrics[1];
  EXPECT_TRUE(Contains(metrics[1], ",,")) << "no validation at step 4";
  EXPECT_FALSE(Contains(metrics[5], ",,")) << "validation at step 20: " << metrics[5];
  EXPECT_EQ(metrics[10].rfind("40,", 0), 0u) << metrics[10];
  // The final validation accuracy of the log is the one printed.
  const std::string printed = figure_after(r.out, "validation accuracy");
  EXPECT_TRUE(Contains(metrics[10], "," + printed)) << metrics[10] << " vs " << printed;
  EXPECT_EQ(line_count(run_dir / "test_predictions.csv"), 51u);  // header + 50 test images

  // The run folder's model is the trained one: eval reproduces the test accuracy.
  const Result eval =
      run({"eval", "--model", (run_dir / "model.safetensors").string(), "--data", data()});
  ASSERT_EQ(eval.status, 0) << eval;
  EXPECT_EQ(figure_after(eval.out, "test accuracy"), figure_after(r.out, "test accuracy"));
  EXPECT_TRUE(Contains(eval.out, "per-class accuracy: 0: "));
  EXPECT_TRUE(Contains(eval.out, "confusion matrix"));

  // cnn plot redraws the pictures from the files.
  for (const char* picture : {"loss.png", "predictions.png", "confusion.png"}) {
    fs::remove(run_dir / picture);
  }
  const Result plot = run({"plot", run_dir.string()});
  ASSERT_EQ(plot.status, 0) << plot;
  for (const char* picture : {"loss.png", "predictions.png", "confusion.png"}) {
    EXPECT_TRUE(fs::is_regular_file(run_dir / picture)) << picture;
    EXPECT_TRUE(Contains(plot.out, picture));
  }

  // --out never overwrites an earlier run.
  const Result again = run(
      {"train", "--data", data(), "--iterations", "2", "--val", "50", "--out", run_dir.string()});
  EXPECT_EQ(again.status, 2) << again;
  EXPECT_TRUE(
      Contains(again.err, "--out: '" + run_dir.string() + "' already holds a training run"));
  EXPECT_EQ(line_count(run_dir / "metrics.csv"), 11u);
}

TEST_F(CliTest, DefaultRunFoldersAreNewEveryTimeAndQuietPrintsNoProgress) {
  for (int i = 0; i < 2; ++i) {
    const Result r =
        run({"train", "--data", data(), "--iterations", "3", "--val", "50", "--quiet"});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_FALSE(Contains(r.out, "iteration ")) << r;
    EXPECT_NE(figure_after(r.out, "test accuracy"), "") << r;
  }
  // The program ran in dir_ (see run_cli): two folders runs/<date>-<time>-seed[-2].
  std::vector<std::string> runs;
  for (const auto& entry : fs::directory_iterator(dir_ / "runs")) {
    runs.push_back(entry.path().filename().string());
    EXPECT_TRUE(fs::is_regular_file(entry.path() / "model.safetensors")) << entry.path();
  }
  ASSERT_EQ(runs.size(), 2u);
  for (const std::string& name : runs) {
    EXPECT_EQ(name.size() >= 20 ? name.substr(15, 5) : name, "-seed") << name;
  }
}

TEST_F(CliTest, PlotOfAMissingOrIncompleteRunFolder) {
  expect_usage_error({"plot", (dir_ / "nothing").string()}, {"RUN_DIR", "is not a folder"});
  fs::create_directory(dir_ / "empty");
  const Result r = run({"plot", (dir_ / "empty").string()});
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(Contains(r.err, "empty/metrics.csv"));
}

// run.json with `keys` (JSON members, "\"k\": v, ...") added to its object.
void add_to_run_json(const fs::path& run, const std::string& keys) {
  std::string text = read_text(run / "run.json");
  const std::size_t end = text.rfind('}');
  ASSERT_NE(end, std::string::npos) << text;
  text.insert(end, ", " + keys);
  std::ofstream(run / "run.json") << text;
}

TEST_F(CliTest, PlotReadsSamplesOfAnyVersionAndNamesFromRunJson) {
  const fs::path run_dir = dir_ / "run";
  ASSERT_EQ(run({"train", "--data", data(), "--iterations", "2", "--val", "50", "--out",
                 run_dir.string()})
                .status,
            0);
  // The first 50 test images, 10 a row: a grey mosaic of 280x140.
  EXPECT_FALSE(fs::exists(run_dir / "samples.pgm"));
  const cnn::Image samples = cnn::read_image_natural(run_dir / "samples.png");
  EXPECT_EQ(samples.channels, 1u);
  EXPECT_EQ(samples.width, 280u);
  EXPECT_EQ(samples.height, 140u);

  // A run folder of an earlier version: samples.pgm, no class names in run.json.
  fs::remove(run_dir / "samples.png");
  fs::remove(run_dir / "predictions.png");
  cnn::write_pgm(
      run_dir / "samples.pgm",
      {280, 140, std::vector<std::uint8_t>(samples.pixels.begin(), samples.pixels.end())});
  Result plot = run({"plot", run_dir.string()});
  ASSERT_EQ(plot.status, 0) << plot;
  EXPECT_TRUE(fs::is_regular_file(run_dir / "predictions.png"));

  // Class names and the preparation from run.json.
  add_to_run_json(run_dir,
                  "\"class_names\": [\"zero\", \"one\", \"two\", \"three\", \"four\", \"five\", "
                  "\"six\", \"seven\", \"eight\", \"a very long name for nine\"], "
                  "\"preparation\": \"resize\"");
  plot = run({"plot", run_dir.string()});
  ASSERT_EQ(plot.status, 0) << plot;

  // Colour images that are not square (12 high, 20 wide) cut back from samples.png: the
  // prediction grid is drawn in colour.
  cnn::Image colour{3, 5 * 12, 10 * 20, {}};
  for (std::size_t c = 0; c < 3; ++c) {
    colour.pixels.insert(colour.pixels.end(), colour.height * colour.width,
                         static_cast<std::uint8_t>(60 + 80 * c));
  }
  cnn::write_png(run_dir / "samples.png", colour);
  fs::remove(run_dir / "predictions.png");
  plot = run({"plot", run_dir.string()});
  ASSERT_EQ(plot.status, 0) << plot;
  const cnn::Image grid = cnn::read_image_natural(run_dir / "predictions.png");
  EXPECT_EQ(grid.channels, 3u);
  EXPECT_EQ(grid.width, 2u * 20u + 10u * 100u);  // cells of 100 for images scaled to 80x48
  fs::remove(run_dir / "samples.png");

  // A mosaic that does not cut into 10 images a row is refused, naming the file.
  cnn::write_pgm(run_dir / "samples.pgm", {281, 140, std::vector<std::uint8_t>(281 * 140)});
  plot = run({"plot", run_dir.string()});
  EXPECT_EQ(plot.status, 1) << plot;
  EXPECT_TRUE(Contains(plot.err, "samples.pgm: 281x140 is not a mosaic of 10 images a row"))
      << plot;
}

TEST_F(CliTest, PlotRefusesClassNamesThatDoNotFit) {
  const fs::path run_dir = dir_ / "run";
  ASSERT_EQ(run({"train", "--data", data(), "--iterations", "2", "--val", "50", "--out",
                 run_dir.string()})
                .status,
            0);
  const std::string record = read_text(run_dir / "run.json");
  // The synthetic test set holds all 10 classes: two names are too few.
  add_to_run_json(run_dir, "\"class_names\": [\"cat\", \"dog\"]");
  Result plot = run({"plot", run_dir.string()});
  EXPECT_EQ(plot.status, 1) << plot;
  EXPECT_TRUE(Contains(plot.err, "test_predictions.csv: class 9 occurs, but 2 classes are named"))
      << plot;
  std::ofstream(run_dir / "run.json") << record;
  add_to_run_json(run_dir, "\"class_names\": [1, 2]");
  plot = run({"plot", run_dir.string()});
  EXPECT_EQ(plot.status, 1) << plot;
  EXPECT_TRUE(Contains(plot.err, "run.json: class_names[0] is not a string")) << plot;
  std::ofstream(run_dir / "run.json") << record;
  add_to_run_json(run_dir, "\"preparation\": \"sideways\"");
  plot = run({"plot", run_dir.string()});
  EXPECT_EQ(plot.status, 1) << plot;
  EXPECT_TRUE(Contains(plot.err, "run.json: preparation must be \"digit\" or \"resize\"")) << plot;
  std::ofstream(run_dir / "run.json") << "{ not json";
  plot = run({"plot", run_dir.string()});
  EXPECT_EQ(plot.status, 1) << plot;
  EXPECT_TRUE(Contains(plot.err, "run.json: not a JSON object")) << plot;
}

TEST_F(CliTest, InfoShowsArchitectureShapesAndSettings) {
  const fs::path model = dir_ / "m.safetensors";
  ASSERT_EQ(run({"train", "--data", data(), "--iterations", "2", "--val", "50", "--lr", "0.02",
                 "--out", (dir_ / "run").string(), "--save", model.string()})
                .status,
            0);
  const Result r = run({"info", model.string()});
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_TRUE(Contains(r.out, "architecture: preset seed, input [1, 28, 28], 10 classes"));
  EXPECT_TRUE(Contains(r.out, "parameters: 31504"));
  EXPECT_TRUE(Contains(r.out, "Linear(363, 84) -> [1, 84], 30576 parameters"));
  EXPECT_TRUE(Contains(r.out, "0.weight   [3, 1, 5, 5]"));
  EXPECT_TRUE(Contains(r.out, "6.bias     [10]"));
  EXPECT_TRUE(Contains(r.out, "learning_rate: 0.02"));
  EXPECT_TRUE(Contains(r.out, "input normalisation: unit: x = pixel / 255"));

  const Result missing = run({"info", (dir_ / "nope.safetensors").string()});
  EXPECT_EQ(missing.status, 1);
  EXPECT_TRUE(Contains(missing.err, "nope.safetensors: no such file"));
}

TEST_F(CliTest, EvalAndInfoPrintJsonWithTheFiguresOfTheirText) {
  const fs::path model = dir_ / "m.safetensors";
  ASSERT_EQ(run({"train", "--data", data(), "--iterations", "30", "--batch", "8", "--val", "50",
                 "--lr", "0.05", "--out", (dir_ / "run").string(), "--save", model.string()})
                .status,
            0);
  const Result text = run({"eval", "--model", model.string(), "--data", data()});
  ASSERT_EQ(text.status, 0) << text;
  const Result json = run({"eval", "--model", model.string(), "--data", data(), "--json"});
  ASSERT_EQ(json.status, 0) << json;
  // Only the document on standard output; the data report on standard error.
  const nlohmann::json eval = nlohmann::json::parse(json.out);
  EXPECT_TRUE(Contains(json.err, "data: IDX files")) << json;
  EXPECT_EQ(eval.at("images"), 50);
  char accuracy[16];
  std::snprintf(accuracy, sizeof accuracy, "%.4f", eval.at("accuracy").get<double>());
  EXPECT_EQ(figure_after(text.out, "test accuracy"), accuracy) << text;
  ASSERT_EQ(eval.at("classes").size(), 10u);
  ASSERT_EQ(eval.at("confusion").size(), 10u);
  std::size_t total = 0, diagonal = 0;
  for (std::size_t t = 0; t < 10; ++t) {
    for (std::size_t p = 0; p < 10; ++p) total += eval["confusion"][t][p].get<std::size_t>();
    diagonal += eval["confusion"][t][t].get<std::size_t>();
  }
  EXPECT_EQ(total, 50u);
  EXPECT_EQ(diagonal, eval.at("correct").get<std::size_t>());

  const Result info = run({"info", "--json", model.string()});
  ASSERT_EQ(info.status, 0) << info;
  const nlohmann::json described = nlohmann::json::parse(info.out);
  EXPECT_EQ(described.at("preset"), "seed");
  EXPECT_EQ(described.at("parameters"), 31504);
  EXPECT_EQ(described.at("input"), nlohmann::json({1, 28, 28}));
  EXPECT_EQ(described.at("class_names").size(), 10u);
  EXPECT_EQ(described.at("normalization").at("kind"), "unit");
  EXPECT_EQ(described.at("preparation"), "digit");
  EXPECT_EQ(described.at("layers").back().at("output"), "[1, 10]");
  EXPECT_EQ(described.at("tensors").front().at("name"), "0.weight");
  EXPECT_EQ(described.at("settings").at("learning_rate"), "0.05");
  const Result missing = run({"info", "--json", (dir_ / "nope.safetensors").string()});
  EXPECT_EQ(missing.status, 1);
  EXPECT_EQ(missing.out, "");
  EXPECT_TRUE(Contains(missing.err, "nope.safetensors: no such file"));
}

TEST_F(CliTest, PredictPrintsTheTopClassesOrJsonAndNamesBrokenImages) {
  const fs::path model = dir_ / "m.safetensors";
  ASSERT_EQ(run({"train", "--data", data(), "--iterations", "2", "--val", "50", "--out",
                 (dir_ / "run").string(), "--save", model.string()})
                .status,
            0);
  const std::string digit =
      (fs::path(CNN_SOURCE_DIR) / "tests/fixtures/digits/3-small-64x64.pgm").string();
  const Result r = run({"predict", "--model", model.string(), digit});
  ASSERT_EQ(r.status, 0) << r;
  // "<file>: <class>  (<class>: <p>, <class>: <p>, <class>: <p>)"
  ASSERT_TRUE(Contains(r.out, digit + ": "));
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), ':'), 4) << r.out;

  const Result json = run({"predict", "--model", model.string(), "--json", "--top", "2", digit});
  ASSERT_EQ(json.status, 0) << json;
  EXPECT_TRUE(Contains(json.out, "\"file\": \"" + digit + "\""));
  EXPECT_TRUE(Contains(json.out, "\"predicted\": "));
  EXPECT_EQ(std::count(json.out.begin(), json.out.end(), 'y'), 2) << "two probabilities";

  std::ofstream(dir_ / "broken.png") << "\x89PNG\r\n\x1a\nnot really";
  const Result broken =
      run({"predict", "--model", model.string(), (dir_ / "broken.png").string(), digit});
  EXPECT_EQ(broken.status, 1) << broken;
  EXPECT_TRUE(Contains(broken.err, "broken.png: not a valid PNG"));
  EXPECT_TRUE(Contains(broken.out, digit + ": ")) << "the other image is still classified";
  expect_usage_error({"predict", "--model", model.string()}, {"IMAGE"});
}

TEST_F(CliTest, ABrokenArchitectureIsAUsageErrorWithItsPosition) {
  const Result r =
      run({"train", "--data", data(), "--val", "50", "--arch", "conv(4,5) relu maxpool(2) fc(10"});
  EXPECT_EQ(r.status, 2) << r;
  EXPECT_EQ(r.out, "") << r;
  const std::vector<std::string> lines = lines_of(r.err);
  ASSERT_EQ(lines.size(), 3u) << r;
  EXPECT_EQ(lines[0], "cnn: error: --arch: architecture, line 1, column 29: '(' is never closed");
  EXPECT_EQ(lines[1], "  conv(4,5) relu maxpool(2) fc(10");
  EXPECT_EQ(lines[2], "                              ^");
  expect_usage_error({"train", "--data", data(), "--arch", "fc(classes)", "--preset", "lenet5"},
                     {"--arch", "--preset"});
  expect_usage_error({"train", "--data", data(), "--optimizer", "rmsprop"},
                     {"--optimizer", "rmsprop"});
  expect_usage_error({"train", "--data", data(), "--rotate", "200"}, {"--rotate", "200"});
  expect_usage_error({"train", "--data", data(), "--elastic", "1e9"}, {"--elastic", "1e9"});
  expect_usage_error(
      {"train", "--data", data(), "--val", "50", "--arch-file", (dir_ / "none.txt").string()},
      {"--arch-file", "none.txt"});
}

TEST_F(CliTest, AnArchitectureFromAFileTrainsSavesAndEvaluatesDeterministically) {
  const fs::path arch = dir_ / "net.txt";
  std::ofstream(arch) << "# a small net\nconv(4,5) bn relu maxpool(2)\ndropout(0.2) fc(classes)\n";
  const auto train = [&](const std::string& file) {
    return run({"train",
                "--data",
                data(),
                "--arch-file",
                arch.string(),
                "--iterations",
                "40",
                "--batch",
                "8",
                "--val",
                "50",
                "--optimizer",
                "adamw",
                "--lr",
                "0.01",
                "--weight-decay",
                "0.01",
                "--schedule",
                "onecycle",
                "--translate",
                "2",
                "--rotate",
                "10",
                "--scale",
                "0.1",
                "--elastic",
                "8",
                "--elastic-sigma",
                "3",
                "--threads",
                "2",
                "--save",
                (dir_ / file).string()});
  };
  const Result first = train("a.safetensors");
  ASSERT_EQ(first.status, 0) << first;
  EXPECT_TRUE(Contains(first.out, "training architecture '# a small net"));
  EXPECT_TRUE(Contains(first.out, "optimizer adamw, schedule onecycle"));
  EXPECT_TRUE(Contains(first.out, "scale 0.1, elastic 8 px (sigma 3 px)")) << first;
  EXPECT_TRUE(Contains(first.out, "BatchNorm2d(4"));
  const std::string accuracy = figure_after(first.out, "test accuracy");
  ASSERT_NE(accuracy, "") << first;
  const Result again = train("b.safetensors");
  ASSERT_EQ(again.status, 0) << again;
  EXPECT_EQ(read_text(dir_ / "a.safetensors"), read_text(dir_ / "b.safetensors"));
  const Result eval = run(
      {"eval", "--model", (dir_ / "a.safetensors").string(), "--data", data(), "--threads", "1"});
  ASSERT_EQ(eval.status, 0) << eval;
  EXPECT_TRUE(Contains(eval.out, "preset custom"));
  EXPECT_EQ(figure_after(eval.out, "test accuracy"), accuracy) << eval;
}

}  // namespace
