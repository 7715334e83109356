// MpiProcessGroup (src/mpi/) and the program's ParallelRun (cli/parallel_run.cpp).
//
// CTest runs this binary three ways (tests/CMakeLists.txt): under `mpirun -np 2` and
// `mpirun -np 4 --oversubscribe`, where main() starts MPI and every rank runs the collective
// tests (rank 0 prints, the others print only their failures, and the exit status is agreed by
// all), and plainly, where the collective tests skip and the tests of a start without a launcher
// run, among them one that launches a job of its own to see a failing rank end it.
#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "cnn/mpi/mpi_process_group.hpp"
#include "every_rank.hpp"
#include "parallel_run.hpp"

namespace {

// FNV-1a over the bytes of values: equal hashes from every rank mean equal bits.
template <typename T>
std::uint64_t hash_of(const std::vector<T>& values) {
  std::uint64_t hash = 14695981039346656037ULL;
  const auto* bytes = reinterpret_cast<const unsigned char*>(values.data());
  for (std::size_t i = 0; i < values.size() * sizeof(T); ++i) {
    hash = (hash ^ bytes[i]) * 1099511628211ULL;
  }
  return hash;
}

// Every rank's hash of values equals rank 0's.
template <typename T>
void expect_identical_on_every_rank(const std::vector<T>& values) {
  const std::vector<std::uint64_t> hashes = world->all_gather(hash_of(values));
  for (std::size_t r = 1; r < hashes.size(); ++r) {
    EXPECT_EQ(hashes[r], hashes[0]) << "rank " << r << "'s sum has other bits than rank 0's";
  }
}

std::size_t launcher_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    if (const char* value = std::getenv(name)) return std::stoul(value);
  }
  return 0;
}

TEST(MpiProcessGroup, RankAndSizeAreTheLaunchers) {
  REQUIRE_LAUNCHER();
  if (const std::size_t expected = launcher_size()) {
    EXPECT_EQ(world->size(), expected);
  }
  EXPECT_GE(world->size(), 2U);
  EXPECT_LT(world->rank(), world->size());
}

TEST(MpiProcessGroup, AllGatherIsInRankOrder) {
  REQUIRE_LAUNCHER();
  const std::vector<std::uint64_t> values = world->all_gather(1000 + 7 * world->rank());
  ASSERT_EQ(values.size(), world->size());
  for (std::size_t r = 0; r < values.size(); ++r) EXPECT_EQ(values[r], 1000 + 7 * r);
}

TEST(MpiProcessGroup, SumsIntegersExactly) {
  REQUIRE_LAUNCHER();
  const std::uint64_t n = world->size();
  std::vector<std::uint64_t> values(100);
  // Past 2^53 too, where a sum through double would round.
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = (std::uint64_t{1} << 60) * (world->rank() == 0) + (world->rank() + 1) * i;
  }
  world->sum(values);
  for (std::size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(values[i], (std::uint64_t{1} << 60) + n * (n + 1) / 2 * i) << "at " << i;
  }
}

// A gradient-sized buffer (4 MB of floats, 2 MB of doubles) whose sums are exact in any order.
TEST(MpiProcessGroup, SumsLargeFloatAndDoubleBuffersExactlyWithTheSameBitsEverywhere) {
  REQUIRE_LAUNCHER();
  const std::size_t n = world->size();
  const std::size_t r = world->rank();
  std::vector<float> floats(1 << 20);
  std::vector<double> doubles(1 << 18);
  for (std::size_t i = 0; i < floats.size(); ++i) floats[i] = static_cast<float>(i % 1000 + r);
  for (std::size_t i = 0; i < doubles.size(); ++i) doubles[i] = 0.25 * static_cast<double>(i + r);
  world->sum(floats);
  world->sum(doubles);
  const double rank_sum = static_cast<double>(n * (n - 1) / 2);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < floats.size(); ++i) {
    wrong += floats[i] != static_cast<float>(static_cast<double>(n * (i % 1000)) + rank_sum);
  }
  for (std::size_t i = 0; i < doubles.size(); ++i) {
    wrong += doubles[i] != 0.25 * (static_cast<double>(n * i) + rank_sum);
  }
  EXPECT_EQ(wrong, 0U);
  expect_identical_on_every_rank(floats);
  expect_identical_on_every_rank(doubles);
}

// Sums whose value depends on the order of the additions (1e8 + 1 - 1e8 is 0 or 1 in float) still
// reach every rank with the same bits: rank 0's result is broadcast.
TEST(MpiProcessGroup, OrderDependentFloatSumsAreIdenticalOnEveryRank) {
  REQUIRE_LAUNCHER();
  const float pattern[] = {1e8F, 1.0F, -1e8F, 3.3e-3F, -7.5e7F, 0.1F, 2.5e-8F};
  const std::size_t kinds = std::size(pattern);
  std::vector<float> floats(10007);
  std::vector<double> doubles(10007);
  for (std::size_t i = 0; i < floats.size(); ++i) {
    floats[i] = pattern[(i + world->rank()) % kinds] * (1.0F + 0.001F * static_cast<float>(i % 13));
    doubles[i] = 1e16 * static_cast<double>(pattern[(i * 3 + world->rank()) % kinds]) + 0.1 * i;
  }
  world->sum(floats);
  world->sum(doubles);
  std::size_t not_finite = 0;
  for (float value : floats) not_finite += !std::isfinite(value);
  EXPECT_EQ(not_finite, 0U);
  expect_identical_on_every_rank(floats);
  expect_identical_on_every_rank(doubles);
}

// Messages of at most 7 elements: every piece boundary, the last piece shorter.
TEST(MpiProcessGroup, SumsAndBroadcastsInPieces) {
  REQUIRE_LAUNCHER();
  cnn::MpiProcessGroup small(7);
  const std::size_t n = small.size();
  const std::size_t r = small.rank();
  std::vector<float> floats(1001);
  std::vector<std::uint64_t> integers(50);
  for (std::size_t i = 0; i < floats.size(); ++i) floats[i] = static_cast<float>(i * (r + 1));
  for (std::size_t i = 0; i < integers.size(); ++i) integers[i] = i + 1000 * r;
  std::vector<std::byte> bytes(60);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = std::byte(i * 3 + r * 101);
  small.sum(floats);
  small.sum(integers);
  small.broadcast(bytes);
  // Checked after the collectives: a rank that stopped early would leave the others waiting.
  for (std::size_t i = 0; i < floats.size(); ++i) {
    ASSERT_EQ(floats[i], static_cast<float>(i * n * (n + 1) / 2)) << "at " << i;
  }
  for (std::size_t i = 0; i < integers.size(); ++i) {
    ASSERT_EQ(integers[i], n * i + 1000 * n * (n - 1) / 2) << "at " << i;
  }
  for (std::size_t i = 0; i < bytes.size(); ++i) ASSERT_EQ(bytes[i], std::byte(i * 3)) << i;
}

TEST(MpiProcessGroup, BroadcastOverwritesWithRankZerosBytes) {
  REQUIRE_LAUNCHER();
  std::vector<std::byte> bytes(100000);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = std::byte((i * 31 + world->rank() * 17 + (world->rank() != 0)) & 0xff);
  }
  world->broadcast(bytes);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) wrong += bytes[i] != std::byte((i * 31) & 0xff);
  EXPECT_EQ(wrong, 0U);
}

TEST(MpiProcessGroup, EmptyBuffersAreCollectivesToo) {
  REQUIRE_LAUNCHER();
  std::vector<float> none;
  world->sum(std::span<float>(none));
  world->broadcast({});
  std::vector<std::uint64_t> one{world->rank()};
  world->sum(one);  // the group still agrees on the order of calls after the empty ones
  EXPECT_EQ(one[0], world->size() * (world->size() - 1) / 2);
}

// Rank r sends r + 2 values (rank 1: none) equal to 100 r + i; rank 0 receives them in rank
// order, through one MPI_Gatherv (world) and through messages of at most 3 values (small).
TEST(MpiProcessGroup, GatherToRootConcatenatesUnevenCountsInRankOrder) {
  REQUIRE_LAUNCHER();
  cnn::MpiProcessGroup small(3);
  const std::size_t r = world->rank();
  std::vector<float> mine(r == 1 ? 0 : r + 2);
  for (std::size_t i = 0; i < mine.size(); ++i) mine[i] = static_cast<float>(100 * r + i);
  std::vector<float> expected;
  for (std::size_t from = 0; from < world->size(); ++from) {
    for (std::size_t i = 0; i < (from == 1 ? 0 : from + 2); ++i) {
      expected.push_back(static_cast<float>(100 * from + i));
    }
  }
  for (cnn::ProcessGroup* group :
       {static_cast<cnn::ProcessGroup*>(world), static_cast<cnn::ProcessGroup*>(&small)}) {
    const std::vector<float> gathered = group->gather_to_root(mine);
    if (r == 0) {
      EXPECT_EQ(gathered, expected);
    } else {
      EXPECT_TRUE(gathered.empty());
    }
  }
}

// ---- without a launcher -----------------------------------------------------------------------

const char* const kLauncherVariables[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK",
                                          "PMI_SIZE"};

TEST(LaunchedByMpi, OnlyWhenALauncherSetItsVariables) {
  std::vector<std::optional<std::string>> saved;
  for (const char* name : kLauncherVariables) {
    const char* value = std::getenv(name);
    saved.push_back(value ? std::optional<std::string>(value) : std::nullopt);
    unsetenv(name);
  }
  EXPECT_FALSE(cnn::launched_by_mpi());
  for (const char* name : kLauncherVariables) {
    setenv(name, "", 1);
    EXPECT_FALSE(cnn::launched_by_mpi()) << name << " set but empty";
    setenv(name, "3", 1);
    EXPECT_TRUE(cnn::launched_by_mpi()) << name << "=3";
    unsetenv(name);
  }
  for (std::size_t i = 0; i < saved.size(); ++i) {
    if (saved[i]) setenv(kLauncherVariables[i], saved[i]->c_str(), 1);
  }
}

TEST(ParallelRun, PlainStartIsOneProcessAndLeavesMpiAlone) {
  if (world != nullptr) GTEST_SKIP() << "MPI is running: this is the plain start's test";
  int argc = 1;
  char name[] = "cnn";
  char* args[] = {name, nullptr};
  char** argv = args;
  cnn::cli::ParallelRun run(argc, argv);
  EXPECT_EQ(run.group().size(), 1U);
  EXPECT_EQ(run.group().rank(), 0U);
  int initialized = 1;
  MPI_Initialized(&initialized);
  EXPECT_EQ(initialized, 0) << "a plain start called MPI_Init";
}

TEST(ParallelRunDeathTest, FailInOneProcessPrintsTheErrorAndExits) {
  if (world != nullptr) GTEST_SKIP() << "MPI is running: this is the plain start's test";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const auto fail = [](int status) {
    int argc = 1;
    char name[] = "cnn";
    char* args[] = {name, nullptr};
    char** argv = args;
    cnn::cli::ParallelRun run(argc, argv);
    run.fail(std::runtime_error("no such file 'x'"), status);
  };
  EXPECT_EXIT(fail(1), testing::ExitedWithCode(1), "cnn: error: no such file 'x'");
  EXPECT_EXIT(fail(2), testing::ExitedWithCode(2), "cnn: error: no such file 'x'");
}

// Under the launcher with CNN_TEST_FAIL_RANK=R (see main()), rank R fails while the others wait
// in a sum it never joins: the job must end, fast, with one message naming the rank.
TEST(ParallelRun, FailOnOneRankEndsTheWholeJobWithinSeconds) {
  if (world != nullptr) GTEST_SKIP() << "launches a job of its own: run without a launcher";
  char self[4096] = {};
  ASSERT_GT(readlink("/proc/self/exe", self, sizeof self - 1), 0);
  const std::string command = std::string("timeout -k 5 60 ") + CNN_MPIEXEC + " " +
                              CNN_MPIEXEC_NUMPROC_FLAG + " 2 " + CNN_MPIEXEC_FLAGS + " " + self +
                              " 2>&1";
  setenv("CNN_TEST_FAIL_RANK", "1", 1);
  const auto start = std::chrono::steady_clock::now();
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr) << command;
  std::string output;
  char buffer[4096];
  while (std::size_t got = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, got);
  const int status = pclose(pipe);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  unsetenv("CNN_TEST_FAIL_RANK");
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_NE(WEXITSTATUS(status), 0) << output;
  EXPECT_NE(WEXITSTATUS(status), 124) << "the job hung until timeout ended it:\n" << output;
  EXPECT_LT(seconds, 30.0) << output;
  const std::string message = "cnn: error: rank 1 of 2: injected failure\n";
  const std::size_t at = output.find(message);
  EXPECT_NE(at, std::string::npos) << output;
  std::size_t messages = 0;
  for (std::size_t p = output.find("cnn: error:"); p != std::string::npos;
       p = output.find("cnn: error:", p + 1)) {
    ++messages;
  }
  EXPECT_EQ(messages, 1U) << output;
  std::printf("job with a failing rank ended in %.2f s\n", seconds);
}

// The helper job of FailOnOneRankEndsTheWholeJobWithinSeconds, through the program's own hook.
int run_failing_job(int& argc, char**& argv, std::size_t failing_rank) {
  cnn::cli::ParallelRun run(argc, argv);
  if (run.group().rank() == failing_rank) run.fail(std::runtime_error("injected failure"));
  std::vector<float> never_summed(10);
  run.group().sum(never_summed);  // waits for the failing rank, until the launcher ends the job
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (!cnn::launched_by_mpi()) return RUN_ALL_TESTS();
  if (const char* failing_rank = std::getenv("CNN_TEST_FAIL_RANK")) {
    return run_failing_job(argc, argv, std::stoul(failing_rank));
  }
  cnn::MpiSession session(argc, argv);
  world = &session.group();
  return cnn::testing::run_all_tests_on_every_rank(*world);
}
