// Command-line habits (issue 17): suggestions for misspelt flags, commands and names, names
// matched ignoring case, --help as people read it, the version from CMake, the metadata model
// files record (the writing version, the training data's checksum), one predictions format for
// the run folder and `cnn eval`, a progress bar of steady width, and `cnn info` listing every
// tensor. Each runs the real program on a small synthetic dataset.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "cnn/core/version.hpp"
#include "cnn/data/dataset.hpp"
#include "cnn/data/idx.hpp"
#include "cnn/io/model_file.hpp"

namespace {

namespace fs = std::filesystem;
using cnn::testing::CliResult;
using cnn::testing::Contains;
using cnn::testing::lines_of;
using cnn::testing::read_text;
using cnn::testing::run_cli;

class CliHabitsTest : public cnn::testing::SyntheticDataTest<100, 20> {
 protected:
  CliResult run(const std::vector<std::string>& args) const { return run_cli(args, dir_); }
  // A short training run into dir_/out with the extra flags.
  CliResult train(const std::string& out, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {"train",
                                     "--data",
                                     data(),
                                     "--val",
                                     "20",
                                     "--iterations",
                                     "3",
                                     "--threads",
                                     "1",
                                     "--out",
                                     (dir_ / out).string(),
                                     "--quiet"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  }
};

// The first line of stderr: the error message.
std::string error_line(const CliResult& r) {
  const std::vector<std::string> lines = lines_of(r.err);
  return lines.empty() ? std::string{} : lines[0];
}

// ---- did you mean ----------------------------------------------------------------------------

TEST_F(CliHabitsTest, MisspeltFlagsAndCommandsGetTheNearestSuggested) {
  // The value after the unknown flag is left over too; the message is about the flag alone.
  CliResult r = run({"train", "--data", data(), "--epoch", "1"});
  EXPECT_EQ(r.status, 2) << r;
  EXPECT_EQ(error_line(r), "cnn: error: unknown flag --epoch; did you mean --epochs?") << r;
  r = run({"train", "--data", data(), "--sead=3"});
  EXPECT_EQ(error_line(r), "cnn: error: unknown flag --sead; did you mean --seed?") << r;
  r = run({"eval", "--modle", "m.safetensors", "--data", data()});
  EXPECT_TRUE(Contains(error_line(r), "did you mean --model?")) << r;
  // Nothing near: no suggestion.
  r = run({"train", "--data", data(), "--bogus"});
  EXPECT_EQ(r.status, 2) << r;
  EXPECT_EQ(error_line(r), "cnn: error: unknown flag --bogus") << r;

  r = run({"trian", "--data", data()});
  EXPECT_EQ(r.status, 2) << r;
  EXPECT_TRUE(Contains(error_line(r), "'trian' is not a command; did you mean train?")) << r;
  r = run({"--versoin"});
  EXPECT_TRUE(Contains(error_line(r), "'--versoin' is not a command; did you mean --version?"))
      << r;
  r = run({"frob"});
  EXPECT_TRUE(Contains(error_line(r), "'frob' is not a command; the commands are train")) << r;
}

TEST_F(CliHabitsTest, NamesAreMatchedIgnoringCaseOrSuggested) {
  CliResult r = run({"train", "--data", data(), "--preset", "lenat5"});
  EXPECT_EQ(r.status, 2) << r;
  EXPECT_TRUE(Contains(error_line(r), "--preset: must be one of seed, lenet5")) << r;
  EXPECT_TRUE(Contains(error_line(r), "got 'lenat5'; did you mean lenet5?")) << r;
  r = run({"train", "--data", data(), "--optimizer", "adan"});
  EXPECT_TRUE(Contains(error_line(r), "--optimizer: ")) << r;
  EXPECT_TRUE(Contains(error_line(r), "did you mean adam?")) << r;
  r = run({"train", "--data", data(), "--schedule", "cosin"});
  EXPECT_TRUE(Contains(error_line(r), "did you mean cosine?")) << r;
  r = run({"train", "--data", data(), "--schedule", "linear"});
  EXPECT_FALSE(Contains(error_line(r), "did you mean")) << r;

  // Any case works, and the canonical lower-case name is what is printed and recorded.
  r = train("run", {"--preset", "LeNet5", "--optimizer", "AdamW", "--schedule", "Cosine"});
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_TRUE(Contains(r.out, "training preset 'lenet5'")) << r;
  EXPECT_TRUE(Contains(r.out, "optimizer adamw, schedule cosine")) << r;
  const cnn::LoadedModel model = cnn::load_model(dir_ / "run" / "model.safetensors");
  EXPECT_EQ(model.info.preset, "lenet5");
  EXPECT_TRUE(Contains(model.info.extra.at("recipe"), "optimizer adamw, schedule cosine"));
}

// ---- help ------------------------------------------------------------------------------------

TEST_F(CliHabitsTest, HelpShowsPlaceholdersRangesAndDefaultsAsPeopleWriteThem) {
  const CliResult r = run({"train", "--help"});
  ASSERT_EQ(r.status, 0) << r;
  for (const char* artefact : {"UINT", "INT >=", "=4", "FLOAT", "TEXT:", "REQUIRED", "Excludes:"}) {
    EXPECT_FALSE(Contains(r.out, artefact)) << artefact << "\n" << r.out;
  }
  bool batch_line = false;
  for (const std::string& line : lines_of(r.out)) {
    if (line.find("--batch N ") != std::string::npos) {
      batch_line = true;
      EXPECT_TRUE(Contains(line, "Images per mini-batch (1 to 65536, default 4)")) << line;
    }
  }
  EXPECT_TRUE(batch_line) << r.out;
  EXPECT_TRUE(Contains(r.out, "--data PATH")) << r.out;
  EXPECT_TRUE(Contains(r.out, "(at least 1, default")) << r.out;            // --iterations
  EXPECT_TRUE(Contains(r.out, "(a number > 0, default 0.01)")) << r.out;    // --lr
  EXPECT_TRUE(Contains(r.out, "not with --arch-file, --preset")) << r.out;  // --arch
  for (const char* command : {"eval", "predict", "info", "plot"}) {
    const CliResult help = run({command, "--help"});
    ASSERT_EQ(help.status, 0) << help;
    for (const char* artefact : {"UINT", "INT >=", "REQUIRED", "TEXT:"}) {
      EXPECT_FALSE(Contains(help.out, artefact)) << command << ": " << artefact << "\n" << help.out;
    }
  }
}

// ---- version and model-file metadata ---------------------------------------------------------

TEST_F(CliHabitsTest, VersionComesFromTheBuild) {
  const CliResult r = run({"--version"});
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_EQ(r.out.rfind(std::string("cnn ") + cnn::version() + " (kernels: ", 0), 0u) << r;
  EXPECT_NE(std::string(cnn::version()), "");
}

TEST_F(CliHabitsTest, ModelFilesRecordVersionAndDataChecksumAndTheSameRunWritesTheSameBytes) {
  ASSERT_EQ(train("a").status, 0);
  ASSERT_EQ(train("b").status, 0);
  const std::string a = read_text(dir_ / "a" / "model.safetensors");
  EXPECT_EQ(a, read_text(dir_ / "b" / "model.safetensors")) << "the same run, other bytes";

  // The checksum is of the decoded training file: the same images as .gz give the same value.
  const fs::path gz = dir_ / "gz";
  fs::create_directory(gz);
  cnn::IdxImages images = cnn::read_idx_images(*root_ / "data" / "train-images-idx3-ubyte");
  const std::vector<std::uint8_t> labels =
      cnn::read_idx_labels(*root_ / "data" / "train-labels-idx1-ubyte");
  cnn::write_idx_images(gz / "train-images-idx3-ubyte.gz", images, true);
  cnn::write_idx_labels(gz / "train-labels-idx1-ubyte.gz", labels, true);
  for (const char* test_file : {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
    fs::copy_file(*root_ / "data" / test_file, gz / test_file);
  }
  const CliResult from_gz = run({"train", "--data", gz.string(), "--val", "20", "--iterations", "3",
                                 "--threads", "1", "--out", (dir_ / "c").string(), "--quiet"});
  ASSERT_EQ(from_gz.status, 0) << from_gz;
  EXPECT_EQ(a, read_text(dir_ / "c" / "model.safetensors")) << "raw and .gz data, other bytes";

  const cnn::LoadedModel model = cnn::load_model(dir_ / "a" / "model.safetensors");
  EXPECT_EQ(model.info.extra.at(cnn::kVersionKey), cnn::version());
  // The value defined in model_file.hpp: the decoded pixels, then the labels.
  const cnn::Dataset whole(images.pixels, labels, 28, 28, 10);
  const std::string checksum = cnn::data_checksum(std::vector{whole});
  EXPECT_EQ(model.info.extra.at(cnn::kDataChecksumKey), checksum);

  const CliResult info = run({"info", (dir_ / "a" / "model.safetensors").string()});
  ASSERT_EQ(info.status, 0) << info;
  EXPECT_TRUE(Contains(info.out, std::string("written by cnn version: ") + cnn::version() + "\n"))
      << info;
  EXPECT_TRUE(Contains(info.out, "training data checksum: " + checksum + "\n")) << info;
}

TEST_F(CliHabitsTest, InfoSaysWhatAnOldModelFileDoesNotRecord) {
  // Version 0 of the format (tests/fixtures/formats/v0), written before these were recorded.
  const std::string oldest =
      (fs::path(CNN_SOURCE_DIR) / "tests/fixtures/formats/v0/model.safetensors").string();
  const CliResult info = run({"info", oldest});
  ASSERT_EQ(info.status, 0) << info;
  EXPECT_TRUE(Contains(info.out, "written by cnn version: not recorded\n")) << info;
  EXPECT_TRUE(Contains(info.out, "training data checksum: not recorded\n")) << info;
}

// ---- one predictions format ------------------------------------------------------------------

TEST_F(CliHabitsTest, RunFolderAndEvalWriteOnePredictionsFormatThatPlotReads) {
  ASSERT_EQ(train("run").status, 0);
  const fs::path csv = dir_ / "predictions.csv";
  const CliResult eval =
      run({"eval", "--model", (dir_ / "run" / "model.safetensors").string(), "--data", data(),
           "--threads", "1", "--predictions-out", csv.string()});
  ASSERT_EQ(eval.status, 0) << eval;
  std::string header = "index,label,predicted,confidence";
  for (int c = 0; c < 10; ++c) header += ",logit_" + std::to_string(c);
  const std::vector<std::string> from_run =
      lines_of(read_text(dir_ / "run" / "test_predictions.csv"));
  const std::vector<std::string> from_eval = lines_of(read_text(csv));
  ASSERT_EQ(from_run.size(), 21u);
  ASSERT_EQ(from_eval.size(), 21u);
  EXPECT_EQ(from_run[0], header);
  EXPECT_EQ(from_eval[0], header);
  for (std::size_t i = 1; i < from_run.size(); ++i) {
    // The same model on the same images: the same label, prediction and confidence.
    const auto first_four = [](const std::string& line) {
      std::size_t comma = 0;
      for (int k = 0; k < 4; ++k) comma = line.find(',', comma + 1);
      return line.substr(0, comma);
    };
    EXPECT_EQ(first_four(from_run[i]), first_four(from_eval[i])) << i;
    EXPECT_EQ(std::count(from_run[i].begin(), from_run[i].end(), ','), 13) << from_run[i];
  }

  // cnn plot reads the new files, and still the four columns of earlier run folders.
  const CliResult plot = run({"plot", (dir_ / "run").string()});
  EXPECT_EQ(plot.status, 0) << plot;
  std::string four_columns = "index,label,predicted,confidence\n";
  for (std::size_t i = 1; i < from_run.size(); ++i) {
    std::size_t comma = 0;
    for (int k = 0; k < 4; ++k) comma = from_run[i].find(',', comma + 1);
    four_columns += from_run[i].substr(0, comma) + "\n";
  }
  std::ofstream(dir_ / "run" / "test_predictions.csv") << four_columns;
  fs::remove(dir_ / "run" / "confusion.png");
  const CliResult old_plot = run({"plot", (dir_ / "run").string()});
  EXPECT_EQ(old_plot.status, 0) << old_plot;
  EXPECT_TRUE(fs::is_regular_file(dir_ / "run" / "confusion.png"));
  // A logit column too few is refused, naming the file and line.
  std::ofstream(dir_ / "run" / "test_predictions.csv") << header << "\n0,1,1,0.5,1,2\n";
  const CliResult broken = run({"plot", (dir_ / "run").string()});
  EXPECT_EQ(broken.status, 1) << broken;
  EXPECT_TRUE(Contains(error_line(broken), "test_predictions.csv: line 2 is not")) << broken;
}

TEST_F(CliHabitsTest, PredictionsOutThatCannotBeWrittenIsNamedAndLeavesNothingBehind) {
  ASSERT_EQ(train("run").status, 0);
  const std::string model = (dir_ / "run" / "model.safetensors").string();
  // A folder where the file should go, and a folder that does not exist.
  fs::create_directory(dir_ / "taken");
  for (const fs::path& target : {dir_ / "taken", dir_ / "no-such-folder" / "p.csv"}) {
    const CliResult eval = run({"eval", "--model", model, "--data", data(), "--threads", "1",
                                "--predictions-out", target.string()});
    EXPECT_EQ(eval.status, 1) << eval;
    EXPECT_TRUE(Contains(error_line(eval), "--predictions-out: " + target.string())) << eval;
  }
  EXPECT_TRUE(fs::is_directory(dir_ / "taken"));
  // The table is written whole or not at all: no temporary file is left beside the target.
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_FALSE(entry.path().filename().string().starts_with("taken.tmp")) << entry.path();
  }
}

// ---- progress bar ----------------------------------------------------------------------------

// Runs cnn with args on a pseudo-terminal `columns` wide (so that it draws the bar) and returns
// everything it wrote; status gets the exit code.
std::string run_on_terminal(const std::vector<std::string>& args, const fs::path& folder,
                            int columns, int& status) {
  std::vector<std::string> argv_text = {CNN_CLI_PATH};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  winsize size{};
  size.ws_col = static_cast<unsigned short>(columns);
  size.ws_row = 24;
  int terminal = -1;
  const pid_t pid = forkpty(&terminal, nullptr, nullptr, &size);
  if (pid < 0) {
    ADD_FAILURE() << "forkpty: " << std::strerror(errno);
    return {};
  }
  if (pid == 0) {
    if (::chdir(folder.c_str()) != 0) ::_exit(126);
    ::setenv("TERM", "xterm", 1);
    ::execv(CNN_CLI_PATH, argv.data());
    ::_exit(127);
  }
  std::string output;
  char buffer[4096];
  for (;;) {
    const ssize_t got = ::read(terminal, buffer, sizeof buffer);
    if (got > 0) {
      output.append(buffer, static_cast<std::size_t>(got));
    } else if (got < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // EIO once the program has exited and closed the terminal
    }
  }
  ::close(terminal);
  int wait_status = 0;
  ::waitpid(pid, &wait_status, 0);
  status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
  return output;
}

TEST_F(CliHabitsTest, ProgressBarKeepsItsWidthAsTheCountersGainDigits) {
  // 12 iterations with a loss line after each: the bar is redrawn below every line, at iterations
  // 1 to 9 (one digit) and 10 to 12 (two).
  int status = -1;
  const std::string output = run_on_terminal(
      {"train", "--data", data(), "--val", "20", "--iterations", "12", "--batch", "8", "--threads",
       "1", "--report-every", "1", "--out", (dir_ / "run").string()},
      dir_, 200, status);
  ASSERT_EQ(status, 0) << output;
  std::set<std::size_t> widths;
  std::set<std::string> iterations;
  for (std::size_t start = output.find("\repoch "); start != std::string::npos;
       start = output.find("\repoch ", start + 1)) {
    const std::size_t end = output.find("\x1b[K", start);
    ASSERT_NE(end, std::string::npos) << output;
    const std::string bar = output.substr(start + 1, end - start - 1);
    widths.insert(bar.size());
    const std::size_t it = bar.find(" it ");
    ASSERT_NE(it, std::string::npos) << bar;
    iterations.insert(bar.substr(it + 4, bar.find('/', it) - it - 4));
  }
  EXPECT_TRUE(iterations.count(" 1") == 1 && iterations.count("12") == 1)
      << "the bar at iterations 1 and 12, padded: " << output;
  EXPECT_EQ(widths.size(), 1u) << "the bar changed width:\n" << output;
}

// ---- cnn info --------------------------------------------------------------------------------

TEST_F(CliHabitsTest, InfoListsEveryTensorWithBuffersMarked) {
  ASSERT_EQ(train("run", {"--arch", "conv(4,3) bn relu maxpool(2) fc(classes)"}).status, 0);
  const fs::path model = dir_ / "run" / "model.safetensors";
  const CliResult info = run({"info", model.string()});
  ASSERT_EQ(info.status, 0) << info;
  // Every tensor of the file, by its state_dict name; the running statistics as buffers.
  const std::vector<std::string> lines = lines_of(info.out);
  const auto line_of = [&lines](const std::string& name) {
    for (const std::string& line : lines) {
      if (line.rfind("  " + name + " ", 0) == 0) return line;
    }
    return std::string{};
  };
  for (const char* parameter : {"0.weight", "0.bias", "1.weight", "1.bias", "5.weight", "5.bias"}) {
    EXPECT_NE(line_of(parameter), "") << parameter << "\n" << info.out;
    EXPECT_FALSE(Contains(line_of(parameter), "(buffer)")) << parameter;
  }
  for (const char* buffer : {"1.running_mean", "1.running_var"}) {
    EXPECT_TRUE(Contains(line_of(buffer), "[4]")) << buffer << "\n" << info.out;
    EXPECT_TRUE(Contains(line_of(buffer), "(buffer)")) << buffer << "\n" << info.out;
  }
}

}  // namespace
