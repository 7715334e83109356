// A resumed run is one run: it continues in the run folder its checkpoint records, its metrics
// log cut at the checkpoint's iteration and appended to (so the log covers the run once, whatever
// a killed run logged after its last checkpoint), its times and throughput continue the run's
// totals, the pictures at the end cover the whole run, and run.json says how the run stands.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.hpp"
#include "cnn/io/checkpoint.hpp"
#include "cnn/io/run_log.hpp"

namespace {

namespace fs = std::filesystem;
using cnn::testing::CliProcess;
using cnn::testing::CliResult;
using cnn::testing::Contains;
using cnn::testing::lines_of;
using cnn::testing::read_text;
using cnn::testing::run_cli;

// 250 training images at batch 8; a metrics line every 10 iterations and a checkpoint every 50,
// so that a resumed run's first line sums the same batches as the uninterrupted run's.
constexpr std::size_t kIterations = 3000;

class ResumeRunTest : public cnn::testing::SyntheticDataTest<300, 50> {
 protected:
  std::vector<std::string> training(const fs::path& out, const fs::path& checkpoint,
                                    std::size_t iterations = kIterations) const {
    return {"train",
            "--data",
            data(),
            "--val",
            "50",
            "--batch",
            "8",
            "--lr",
            "0.02",
            "--iterations",
            std::to_string(iterations),
            "--threads",
            "1",
            "--seed",
            "4",
            "--log-every",
            "10",
            "--eval-every",
            "500",
            "--checkpoint-every",
            "50",
            "--checkpoint",
            checkpoint.string(),
            "--out",
            out.string()};
  }

  // Waits (at most two minutes) until the checkpoint holds at least `iteration` iterations.
  static bool wait_for_checkpoint(CliProcess& process, const fs::path& file,
                                  std::size_t iteration) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    while (std::chrono::steady_clock::now() < deadline) {
      if (fs::exists(file)) {
        try {
          if (cnn::load_checkpoint(file).state.iteration >= iteration) return true;
        } catch (const cnn::CheckpointError& e) {
          ADD_FAILURE() << "a checkpoint that does not load: " << e.what();
          return false;
        }
      }
      if (!process.running()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }

  // What a metrics line says apart from its times.
  static std::vector<std::string> untimed(const std::vector<cnn::MetricsRow>& rows) {
    std::vector<std::string> lines;
    for (const cnn::MetricsRow& row : rows) {
      char text[160];
      std::snprintf(text, sizeof text, "%zu,%zu,%.6f,%.8g,%.6f", row.step, row.epoch, row.loss,
                    row.learning_rate, row.validation_accuracy.value_or(-1.0));
      lines.emplace_back(text);
    }
    return lines;
  }

  static nlohmann::json record_of(const fs::path& run) {
    return nlohmann::json::parse(read_text(run / "run.json"));
  }
};

TEST_F(ResumeRunTest, KilledRunResumesInItsFolderWithTheMetricsOfTheRunOnce) {
  // The uninterrupted run, for the metrics the resumed one must end with.
  const CliResult straight = run_cli(training(dir_ / "straight", dir_ / "straight.ckpt"), dir_);
  ASSERT_EQ(straight.status, 0) << straight;
  const std::vector<cnn::MetricsRow> expected = cnn::read_metrics(dir_ / "straight/metrics.csv");
  ASSERT_EQ(expected.size(), kIterations / 10);

  const fs::path run = dir_ / "run", checkpoint = dir_ / "run.ckpt";
  CliProcess killed(training(run, checkpoint), dir_, "-killed");
  ASSERT_TRUE(wait_for_checkpoint(killed, checkpoint, 1000)) << killed.wait();
  killed.send(SIGKILL);
  const CliResult dead = killed.wait();
  ASSERT_EQ(dead.signal, SIGKILL) << dead << "\n(the run finished before the kill)";
  const std::size_t resumed_at = cnn::load_checkpoint(checkpoint).state.iteration;
  EXPECT_EQ(record_of(run).at("status"), "running");
  const std::vector<cnn::MetricsRow> before = cnn::read_metrics(run / "metrics.csv");
  // What a kill in the middle of a write leaves too: a line cut short.
  std::ofstream(run / "metrics.csv", std::ios::app) << resumed_at + 7 << ",40,0.12";

  // No --out: the checkpoint knows the folder; the run is resumed from another working folder.
  fs::create_directory(dir_ / "elsewhere");
  const CliResult resumed =
      run_cli({"train", "--data", data(), "--resume", checkpoint.string()}, dir_ / "elsewhere");
  ASSERT_EQ(resumed.status, 0) << resumed;
  EXPECT_FALSE(fs::exists(dir_ / "elsewhere/runs")) << "a second run folder was made";
  EXPECT_TRUE(Contains(resumed.out, "run folder " + fs::absolute(run).string())) << resumed;

  // The log covers the run once: steps strictly increasing (read_metrics checks), the lines the
  // killed run wrote after its checkpoint replaced by the resumed run's, every figure but the
  // times the uninterrupted run's.
  const std::vector<cnn::MetricsRow> rows = cnn::read_metrics(run / "metrics.csv");
  EXPECT_EQ(untimed(rows), untimed(expected));
  // The killed run's lines up to the checkpoint are kept as they were (their times included).
  std::size_t kept = 0;
  for (const cnn::MetricsRow& row : before) kept += row.step <= resumed_at ? 1 : 0;
  ASSERT_GT(kept, 0u);
  for (std::size_t i = 0; i < kept; ++i) {
    EXPECT_EQ(rows[i].wall_seconds, before[i].wall_seconds) << "line of step " << rows[i].step;
  }
  // The times go on from the run's total: no drop back to 0 at the resume, and a first resumed
  // line whose throughput is of the order of the others (it was ~1000 times too high when the
  // seconds restarted from 0).
  ASSERT_LT(kept, rows.size());
  EXPECT_GE(rows[kept].wall_seconds, rows[kept - 1].wall_seconds);
  std::vector<double> throughputs;
  for (std::size_t i = 0; i < kept; ++i) throughputs.push_back(rows[i].images_per_second);
  std::sort(throughputs.begin(), throughputs.end());
  const double median = throughputs[throughputs.size() / 2];
  EXPECT_LT(rows[kept].images_per_second, 10 * median)
      << "first resumed line " << rows[kept].images_per_second << " images/s, median before "
      << median;

  // The pictures are drawn once, in the run's folder, and the record says it finished.
  for (const char* picture : {"loss.png", "predictions.png", "confusion.png"}) {
    EXPECT_TRUE(fs::exists(run / picture)) << picture;
  }
  const nlohmann::json record = record_of(run);
  EXPECT_EQ(record.at("status"), "finished");
  EXPECT_EQ(record.at("iterations"), kIterations);
  EXPECT_EQ(record.at("resumed").size(), 1u);
  EXPECT_EQ(record.at("data"), fs::absolute(data()).lexically_normal().string());
  EXPECT_TRUE(Contains(record.at("command").get<std::string>(), "cnn train --data "));
  EXPECT_TRUE(Contains(record.at("resume_commands").at(0).get<std::string>(), "--resume "));
}

TEST_F(ResumeRunTest, CtrlCSaysACommandThatWorksPastedIntoAShell) {
  // Paths with a space and a quote: the printed command must quote them.
  const fs::path folder = dir_ / "it's here";
  fs::create_directory(folder);
  const fs::path run = folder / "the run", checkpoint = folder / "run 1.ckpt";
  std::vector<std::string> args = training(run, checkpoint);
  args.push_back("--save");
  args.push_back((folder / "final model.safetensors").string());
  CliProcess interrupted(args, dir_, "-interrupted");
  ASSERT_TRUE(wait_for_checkpoint(interrupted, checkpoint, 100)) << interrupted.wait();
  interrupted.send(SIGINT);
  const CliResult r = interrupted.wait();
  ASSERT_EQ(r.status, 130) << r;
  const nlohmann::json record = record_of(run);
  EXPECT_EQ(record.at("status"), "interrupted");
  const std::string prefix = "cnn: resume with: cnn ";
  const std::vector<std::string> err = lines_of(r.err);
  ASSERT_EQ(err.size(), 2u) << r;
  ASSERT_EQ(err[1].rfind(prefix, 0), 0u) << r;
  EXPECT_EQ("cnn " + err[1].substr(prefix.size()), record.at("resume_command"));

  // Through the shell, with the program's path in place of "cnn", from the test's folder.
  const std::string command = std::string("cd '") + dir_.string() + "' && '" + CNN_CLI_PATH + "'" +
                              err[1].substr(prefix.size() - 1) + " > resumed.txt 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command << "\n" << read_text(dir_ / "resumed.txt");
  EXPECT_TRUE(fs::exists(folder / "final model.safetensors"));
  EXPECT_EQ(cnn::read_metrics(run / "metrics.csv").back().step, kIterations);
  EXPECT_EQ(record_of(run).at("status"), "finished");
}

TEST_F(ResumeRunTest, OutMustNameTheRunFolderOfTheCheckpoint) {
  const fs::path run = dir_ / "run", checkpoint = dir_ / "run.ckpt";
  // A short run: its last checkpoint is of iteration 100.
  const CliResult first = run_cli(training(run, checkpoint, 120), dir_);
  ASSERT_EQ(first.status, 0) << first;
  ASSERT_EQ(cnn::load_checkpoint(checkpoint).state.iteration, 100u);

  fs::create_directory(dir_ / "other");
  const CliResult refused = run_cli({"train", "--data", data(), "--resume", checkpoint.string(),
                                     "--out", (dir_ / "other").string()},
                                    dir_);
  EXPECT_EQ(refused.status, 2) << refused;
  EXPECT_TRUE(Contains(refused.err, "--out: the checkpoint's run is in folder '" +
                                        fs::absolute(run).string() + "', not '" +
                                        (dir_ / "other").string() + "'"))
      << refused;
  EXPECT_FALSE(fs::exists(dir_ / "other/metrics.csv"));

  // The same folder, named another way, is fine.
  const CliResult same = run_cli({"train", "--data", data(), "--resume", checkpoint.string(),
                                  "--out", "run/../run", "--quiet"},
                                 dir_);
  EXPECT_EQ(same.status, 0) << same;
  EXPECT_EQ(cnn::read_metrics(run / "metrics.csv").back().step, 120u);
}

TEST_F(ResumeRunTest, AGoneRunFolderIsMadeAnewOrTakenFromOut) {
  const fs::path run = dir_ / "run", checkpoint = dir_ / "run.ckpt";
  ASSERT_EQ(run_cli(training(run, checkpoint, 120), dir_).status, 0);
  // Moved: --out names the new place, and the log there is continued.
  fs::rename(run, dir_ / "moved");
  const CliResult moved = run_cli({"train", "--data", data(), "--resume", checkpoint.string(),
                                   "--out", (dir_ / "moved").string(), "--quiet"},
                                  dir_);
  ASSERT_EQ(moved.status, 0) << moved;
  EXPECT_TRUE(Contains(moved.err, "cnn: warning: the checkpoint's run folder '" +
                                      fs::absolute(run).string() + "' is gone; continuing in '" +
                                      (dir_ / "moved").string() + "'\n"))
      << moved;
  EXPECT_EQ(cnn::read_metrics(dir_ / "moved/metrics.csv").size(), 12u);
  // Deleted: made anew where it was, its log starting after the checkpoint.
  fs::remove_all(dir_ / "moved");
  const CliResult deleted =
      run_cli({"train", "--data", data(), "--resume", checkpoint.string(), "--quiet"}, dir_);
  ASSERT_EQ(deleted.status, 0) << deleted;
  EXPECT_TRUE(Contains(deleted.err, "whose metrics log starts at iteration 101")) << deleted;
  const std::vector<cnn::MetricsRow> rows = cnn::read_metrics(run / "metrics.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows.front().step, 110u);
}

TEST_F(ResumeRunTest, TheRecordSaysADivergedRunDiverged) {
  // LeNet-5 at learning rate 10^4 overflows to NaN within a few steps.
  const CliResult r =
      run_cli({"train", "--data", data(), "--val", "50", "--batch", "8", "--preset", "lenet5",
               "--lr", "1e4", "--iterations", "200", "--threads", "1", "--out", "run", "--quiet"},
              dir_);
  ASSERT_EQ(r.status, 1) << r;
  const nlohmann::json record = record_of(dir_ / "run");
  EXPECT_EQ(record.at("status"), "diverged");
  EXPECT_TRUE(Contains(record.at("error").get<std::string>(), "training diverged at iteration "));
  EXPECT_TRUE(record.contains("ended"));
  // No temporary file of the record's atomic writes is left (run.json.tmp-<pid>).
  for (const auto& entry : fs::directory_iterator(dir_ / "run")) {
    EXPECT_FALSE(entry.path().filename().string().starts_with("run.json.tmp")) << entry.path();
  }
}

}  // namespace
