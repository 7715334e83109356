// cnn lr-find, run as a user would: a sweep on a small synthetic dataset writes its table and
// chart and prints a suggestion inside the range; bad flags are refused with one clear line and
// nothing written (the rows of docs/reliability.md's "Bad input" table marked lr_find_test).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "cnn/data/image.hpp"

namespace {

namespace fs = std::filesystem;
using cnn::testing::CliResult;
using cnn::testing::Contains;
using cnn::testing::lines_of;
using cnn::testing::read_text;
using cnn::testing::run_cli;

class LrFindTest : public testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = fs::temp_directory_path() /
           ("cnn-lr-find-test-" + std::to_string(getpid()) + "-" + std::to_string(random()));
    fs::create_directories(dir_ / "data");
    cnn::testing::write_synthetic_mnist(dir_ / "data", 300, 20);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string data() const { return (dir_ / "data").string(); }

  // A usage error: exit 2, one "cnn: error:" line holding every phrase (and at most a --help
  // hint), nothing on stdout, no table or chart written.
  void expect_usage_error(const std::vector<std::string>& args,
                          const std::vector<std::string>& phrases) {
    std::string command = "cnn";
    for (const std::string& a : args) command += " " + a;
    SCOPED_TRACE(command);
    const CliResult r = run_cli(args, dir_);
    EXPECT_EQ(r.status, 2) << r;
    const std::vector<std::string> lines = lines_of(r.err);
    ASSERT_FALSE(lines.empty()) << r;
    EXPECT_EQ(lines[0].rfind("cnn: error: ", 0), 0u) << r;
    for (const std::string& phrase : phrases) EXPECT_TRUE(Contains(lines[0], phrase)) << r;
    EXPECT_LE(lines.size(), 2u) << r;
    EXPECT_EQ(r.out, "") << r;
    EXPECT_FALSE(fs::exists(dir_ / "lr-find.csv"));
    EXPECT_FALSE(fs::exists(dir_ / "lr-find.png"));
    if (std::getenv("CNN_PRINT_BAD_INPUT_TABLE") != nullptr) {
      std::string shown = command, message = lines[0];
      for (std::string* text : {&shown, &message}) {
        for (std::size_t at; (at = text->find(dir_.string() + "/")) != std::string::npos;) {
          text->erase(at, dir_.string().size() + 1);
        }
      }
      std::cout << "| `" << shown << "` | 2 | `" << message << "` |\n";
    }
  }

  fs::path dir_;
};

TEST_F(LrFindTest, SweepWritesTableAndChartAndSuggestsARateInTheRange) {
  const CliResult r = run_cli(
      {"lr-find", "--data", data(), "--val", "50", "--batch", "16", "--threads", "1", "--start-lr",
       "1e-4", "--end-lr", "100", "--iterations", "60", "--schedule", "cosine"},
      dir_);
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_TRUE(Contains(r.out, "250 images")) << r;  // 300 less the 50 held out
  EXPECT_TRUE(Contains(r.out, "--schedule is not used")) << r;
  // The table: a header, then one row per step with the rate rising by the same factor.
  const std::vector<std::string> rows = lines_of(read_text(dir_ / "lr-find.csv"));
  ASSERT_GE(rows.size(), 11u);
  ASSERT_LE(rows.size(), 61u);
  EXPECT_EQ(rows[0], "step,learning_rate,loss,smoothed_loss");
  std::vector<double> rates;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const std::size_t comma = rows[i].find(',');
    rates.push_back(std::stod(rows[i].substr(comma + 1)));
  }
  EXPECT_NEAR(rates[0], 1e-4, 1e-12);
  const double growth = std::pow(1e6, 1.0 / 59);
  for (std::size_t i = 1; i < rates.size(); ++i) EXPECT_NEAR(rates[i] / rates[i - 1], growth, 1e-6);
  const cnn::GrayImage chart = cnn::read_image(dir_ / "lr-find.png");
  EXPECT_EQ(chart.width, 960u);
  // The suggestion: the last line, a rate within the range and below where the sweep stopped.
  const std::vector<std::string> lines = lines_of(r.out);
  const std::string prefix = "suggested learning rate ";
  ASSERT_EQ(lines.back().rfind(prefix, 0), 0u) << r;
  const double suggested = std::stod(lines.back().substr(prefix.size()));
  EXPECT_GE(suggested, 1e-4);
  EXPECT_LT(suggested, rates.back());
}

TEST_F(LrFindTest, BadFlags) {
  const std::string d = data();
  expect_usage_error({"lr-find", "--data", d, "--start-lr", "1", "--end-lr", "0.1"},
                     {"--end-lr", "larger than --start-lr (1)", "0.1"});
  expect_usage_error({"lr-find", "--data", d, "--start-lr", "0.1", "--end-lr", "0.1"},
                     {"--end-lr", "larger than --start-lr"});
  expect_usage_error({"lr-find", "--data", d, "--start-lr", "0"}, {"--start-lr", "> 0", "'0'"});
  expect_usage_error({"lr-find", "--data", d, "--end-lr", "inf"}, {"--end-lr", "'inf'"});
  expect_usage_error({"lr-find", "--data", d, "--iterations", "1"},
                     {"--iterations", "from 2", "'1'"});
  expect_usage_error({"lr-find", "--data", d, "--csv", "no-folder/x.csv"},
                     {"--csv", "'no-folder'", "does not exist"});
  expect_usage_error({"lr-find", "--data", d, "--png", "."}, {"--png", "is a folder"});
  expect_usage_error({"lr-find", "--data", d, "--csv", "same", "--png", "same"},
                     {"--csv and --png", "two files"});
  expect_usage_error({"lr-find", "--data", d, "--val", "300"}, {"--val", "less than the 300"});
  expect_usage_error({"lr-find", "--data", "no-data"}, {"--data", "'no-data' not found"});
  expect_usage_error({"lr-find", "--data", d, "--epochs", "3"},
                     {"--epochs", "--iterations", "drop --epochs"});
}

}  // namespace
