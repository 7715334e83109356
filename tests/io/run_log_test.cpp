// The metrics log: written line by line, read back exactly, broken logs rejected by line.
#include "cnn/io/run_log.hpp"

#include <gtest/gtest.h>

#include "assertions.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cnn/core/atomic_file.hpp"
#include "temp_dir.hpp"

namespace {

class RunLogTest : public cnn::testing::TempDirTest {
 protected:
  RunLogTest() : TempDirTest("cnn-run-log-test") {}

  static std::string read_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream contents;
    contents << in.rdbuf();
    return contents.str();
  }

  std::string error_for(const std::string& text) {
    const auto file = path("metrics.csv");
    std::ofstream(file) << text;
    try {
      cnn::read_metrics(file);
    } catch (const cnn::DataError& e) {
      return e.what();
    }
    return "(no error)";
  }
};

using cnn::testing::Contains;

TEST_F(RunLogTest, RoundTrip) {
  {
    cnn::MetricsWriter writer(path("metrics.csv"));
    writer.write({10, 1, 2.25, 0.01, std::nullopt, 1000.0, 0.5});
    writer.write({20, 2, 0.125, 0.0099, 0.9375, 1500.5, 1.25});
  }
  const auto rows = cnn::read_metrics(path("metrics.csv"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].step, 10u);
  EXPECT_EQ(rows[0].epoch, 1u);
  EXPECT_DOUBLE_EQ(rows[0].loss, 2.25);
  EXPECT_FALSE(rows[0].validation_accuracy.has_value());
  EXPECT_EQ(rows[1].step, 20u);
  EXPECT_DOUBLE_EQ(rows[1].learning_rate, 0.0099);
  ASSERT_TRUE(rows[1].validation_accuracy.has_value());
  EXPECT_DOUBLE_EQ(*rows[1].validation_accuracy, 0.9375);
  EXPECT_DOUBLE_EQ(rows[1].images_per_second, 1500.5);
  EXPECT_DOUBLE_EQ(rows[1].wall_seconds, 1.25);
}

TEST_F(RunLogTest, EachLineIsOnDiskAsSoonAsItIsWritten) {
  cnn::MetricsWriter writer(path("metrics.csv"));
  writer.write({1, 1, 1.0, 0.1, std::nullopt, 1.0, 1.0});
  EXPECT_EQ(cnn::read_metrics(path("metrics.csv")).size(), 1u);  // writer still open
}

TEST_F(RunLogTest, ADivergedLossIsKept) {
  {
    cnn::MetricsWriter writer(path("metrics.csv"));
    writer.write({1, 1, NAN, 0.1, std::nullopt, 1.0, 1.0});
  }
  EXPECT_TRUE(std::isnan(cnn::read_metrics(path("metrics.csv")).at(0).loss));
}

TEST_F(RunLogTest, BrokenLogsNameTheFileAndLine) {
  const std::string header = std::string(cnn::kMetricsHeader) + "\n";
  EXPECT_TRUE(Contains(error_for(""), "empty file"));
  EXPECT_TRUE(Contains(error_for("step,loss\n"), "line 1 is not the metrics header"));
  EXPECT_TRUE(Contains(error_for(header + "1,1,0.5\n"), "line 2 has 3 fields, expected 7"));
  EXPECT_TRUE(Contains(error_for(header + "x,1,0.5,0.1,,1,1\n"), "line 2: step 'x'"));
  EXPECT_TRUE(Contains(error_for(header + "1,1,abc,0.1,,1,1\n"), "loss 'abc'"));
  EXPECT_TRUE(Contains(error_for(header + "1,1,0.5,0.1,0.9x,1,1\n"), "validation_accuracy"));
  EXPECT_TRUE(Contains(error_for(header + "1,1,0.5,inf,,1,1\n"), "learning_rate 'inf'"));
  EXPECT_TRUE(Contains(error_for(header + "5,1,0.5,0.1,,1,1\n3,1,0.5,0.1,,1,1\n"),
                       "line 3: step 3 does not follow step 5"));
  EXPECT_TRUE(Contains(error_for(header), "(no error)"));  // header only: an empty run
  EXPECT_THROW(cnn::read_metrics(path("missing.csv")), cnn::DataError);
}

TEST_F(RunLogTest, UncreatableFileIsNamed) {
  try {
    cnn::MetricsWriter writer(path("no-such-folder") / "metrics.csv");
    FAIL() << "no error";
  } catch (const cnn::DataError& e) {
    EXPECT_TRUE(Contains(e.what(), "no-such-folder/metrics.csv: cannot create"));
  }
}

TEST_F(RunLogTest, CutAfterAResumeStepKeepsTheLinesUpToItAndAppendsAfterThem) {
  const std::string header = std::string(cnn::kMetricsHeader) + "\n";
  const auto file = path("metrics.csv");
  // A run killed after its checkpoint of step 20: it logged 30 and half of 40 as well.
  std::ofstream(file) << header << "10,1,1.5,0.1,,100.0,0.100\n20,1,1.25,0.1,0.5,100.0,0.200\n"
                      << "30,2,1.0,0.1,,100.0,0.300\n40,2,0.";
  EXPECT_EQ(cnn::cut_metrics_after(file, 20), 2u);
  EXPECT_EQ(read_file(file), header + "10,1,1.5,0.1,,100.0,0.100\n20,1,1.25,0.1,0.5,100.0,0.200\n");
  EXPECT_FALSE(std::filesystem::exists(cnn::temporary_path_for(file)));
  {
    cnn::MetricsWriter writer(file, /*append=*/true);
    writer.write({30, 2, 0.75, 0.1, std::nullopt, 100.0, 0.3});
  }
  const auto rows = cnn::read_metrics(file);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[2].step, 30u);
  EXPECT_EQ(rows[2].loss, 0.75);

  // Nothing to cut: the file stays as it was; no file: none made, and appending starts one.
  EXPECT_EQ(cnn::cut_metrics_after(file, 1000), 0u);
  EXPECT_EQ(cnn::read_metrics(file).size(), 3u);
  EXPECT_EQ(cnn::cut_metrics_after(path("none.csv"), 5), 0u);
  EXPECT_FALSE(std::filesystem::exists(path("none.csv")));
  {
    cnn::MetricsWriter writer(path("none.csv"), /*append=*/true);
    writer.write({5, 1, 0.5, 0.1, std::nullopt, 1.0, 1.0});
  }
  EXPECT_EQ(cnn::read_metrics(path("none.csv")).size(), 1u);
}

TEST_F(RunLogTest, CutRefusesAFileThatIsNotAMetricsLog) {
  std::ofstream(path("other.csv")) << "index,label\n1,2\n";
  try {
    cnn::cut_metrics_after(path("other.csv"), 5);
    FAIL() << "no error";
  } catch (const cnn::DataError& e) {
    EXPECT_TRUE(Contains(e.what(), "other.csv: line 1 is not the metrics header")) << e.what();
  }
  EXPECT_EQ(read_file(path("other.csv")), "index,label\n1,2\n");
}

}  // namespace
