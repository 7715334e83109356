// The status record of `cnn train` (cli/run_folder.hpp, RunRecord): while it trains, run.json
// names its pid and host and the process holds an exclusive flock on run.lock; killed outright
// (-9), run.json still says "running" but the lock is free, which is how a reader (cnn serve)
// tells a dead run from a live one. A second `cnn train` in the folder of a live one is refused.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli_runner.hpp"

namespace cnn::testing {
namespace {

namespace fs = std::filesystem;

using RunLockTest = SyntheticDataTest<300, 50>;

// Whether another process holds run.lock: a shared, non-blocking flock on our own read-only
// descriptor (a lock of this process would not conflict only on the same descriptor).
bool lock_held(const fs::path& lock) {
  const int fd = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return held;
}

nlohmann::json read_record(const fs::path& run) {
  return nlohmann::json::parse(read_text(run / "run.json"), nullptr, false);
}

TEST_F(RunLockTest, HeldWhileTrainingFreeOnceKilled) {
  const fs::path run = dir_ / "run";
  CliProcess train({"train", "--data", data(), "--preset", "seed", "--iterations", "100000000",
                    "--batch", "4", "--threads", "1", "--out", run.string()},
                   dir_);
  // Until the record is written with the plan's keys (the data's classes, planned iterations).
  nlohmann::json record;
  for (int i = 0; i < 3000 && train.running(); ++i) {
    record = read_record(run);
    if (record.is_object() && record.contains("planned_iterations")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(record.is_object() && record.contains("planned_iterations")) << train.wait();
  EXPECT_EQ(record["status"], "running");
  EXPECT_EQ(record["pid"], train.pid());
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  EXPECT_EQ(record["host"], host);
  EXPECT_EQ(record["planned_iterations"], 100000000);
  EXPECT_EQ(record["class_names"].size(), 10u);
  EXPECT_TRUE(lock_held(run / "run.lock"));

  train.send(SIGKILL);
  const CliResult killed = train.wait();
  EXPECT_EQ(killed.signal, SIGKILL) << killed;
  EXPECT_FALSE(lock_held(run / "run.lock"));
  EXPECT_EQ(read_record(run)["status"], "running");  // what a killed run leaves
}

TEST_F(RunLockTest, AFinishedRunReleasesTheLock) {
  const fs::path run = dir_ / "run";
  const CliResult result = run_cli({"train", "--data", data(), "--preset", "seed", "--iterations",
                                    "20", "--threads", "1", "--out", run.string()},
                                   dir_);
  ASSERT_EQ(result.status, 0) << result;
  const nlohmann::json record = read_record(run);
  EXPECT_EQ(record["status"], "finished");
  EXPECT_TRUE(record["pid"].is_number_integer());
  EXPECT_TRUE(record.contains("host"));
  EXPECT_TRUE(fs::exists(run / "run.lock"));
  EXPECT_FALSE(lock_held(run / "run.lock"));
}

// A folder whose run.lock another process holds is in use: cnn train refuses it (exit 2) rather
// than write its files over a live run's.
TEST_F(RunLockTest, AFolderInUseIsRefused) {
  const fs::path run = dir_ / "run";
  fs::create_directory(run);
  const int fd = ::open((run / "run.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  const CliResult result = run_cli({"train", "--data", data(), "--preset", "seed", "--iterations",
                                    "20", "--threads", "1", "--out", run.string()},
                                   dir_);
  ::close(fd);
  EXPECT_EQ(result.status, 2) << result;
  EXPECT_NE(result.err.find("is in use: another cnn train process trains in it"), std::string::npos)
      << result;
  EXPECT_FALSE(fs::exists(run / "run.json"));
  EXPECT_FALSE(fs::exists(run / "metrics.csv"));
}

}  // namespace
}  // namespace cnn::testing
