// The CPUs a process may use (src/core/usable_cpus.cpp): the parsers on the texts the kernel
// writes (and on garbage, which must be ignored), the readers on a made-up cgroup tree, and the
// affinity mask on this machine.
#include "core/usable_cpus.hpp"

#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "cnn/core/parallel.hpp"

namespace cnn::cpu_limits {
namespace {

TEST(CgroupPath, FindsTheV2LineAndTheV1LineWithTheCpuController) {
  const std::string hybrid =
      "12:memory:/user.slice\n"
      "4:cpu,cpuacct:/user.slice/job-7\n"
      "3:cpuset:/\n"
      "0::/user.slice/user-0.slice/session-1.scope\n";
  EXPECT_EQ(cgroup_v2_path(hybrid), "/user.slice/user-0.slice/session-1.scope");
  EXPECT_EQ(cgroup_v1_cpu_path(hybrid), "/user.slice/job-7");
  // "cpuacct" and "cpuset" are not "cpu".
  EXPECT_EQ(cgroup_v1_cpu_path("2:cpuacct:/a\n3:cpuset:/b\n"), std::nullopt);
  EXPECT_EQ(cgroup_v1_cpu_path("1:cpuacct,cpu:/c"), "/c");
  EXPECT_EQ(cgroup_v2_path("0::/\n"), "/");
  EXPECT_EQ(cgroup_v2_path("4:cpu:/a\n"), std::nullopt);
  EXPECT_EQ(cgroup_v2_path("garbage\n0:/no-second-colon\n"), std::nullopt);
  EXPECT_EQ(cgroup_v2_path(""), std::nullopt);
}

TEST(ParseCpuMax, MaxIsNoQuotaAndANumberIsQuotaOverPeriod) {
  EXPECT_EQ(parse_cpu_max("max 100000\n"), std::nullopt);
  EXPECT_EQ(parse_cpu_max("150000 100000\n"), 1.5);
  EXPECT_EQ(parse_cpu_max("200000 100000"), 2.0);
  EXPECT_EQ(parse_cpu_max("50000 100000\n"), 0.5);
}

TEST(ParseCpuMax, GarbageIsIgnored) {
  EXPECT_EQ(parse_cpu_max(""), std::nullopt);
  EXPECT_EQ(parse_cpu_max("\n"), std::nullopt);
  EXPECT_EQ(parse_cpu_max("150000"), std::nullopt);
  EXPECT_EQ(parse_cpu_max("150000 0"), std::nullopt);
  EXPECT_EQ(parse_cpu_max("0 100000"), std::nullopt);
  EXPECT_EQ(parse_cpu_max("-5 100000"), std::nullopt);
  EXPECT_EQ(parse_cpu_max("1.5 1"), std::nullopt);
  EXPECT_EQ(parse_cpu_max("150000 100000 7"), std::nullopt);
  EXPECT_EQ(parse_cpu_max("lots 100000"), std::nullopt);
  EXPECT_EQ(parse_cpu_max("150000x 100000"), std::nullopt);
}

TEST(ParseCfsQuota, MinusOneIsNoQuotaAndANumberIsQuotaOverPeriod) {
  EXPECT_EQ(parse_cfs_quota("-1\n", "100000\n"), std::nullopt);
  EXPECT_EQ(parse_cfs_quota("250000\n", "100000\n"), 2.5);
  EXPECT_EQ(parse_cfs_quota("100000", "100000"), 1.0);
}

TEST(ParseCfsQuota, GarbageIsIgnored) {
  EXPECT_EQ(parse_cfs_quota("", "100000"), std::nullopt);
  EXPECT_EQ(parse_cfs_quota("250000", ""), std::nullopt);
  EXPECT_EQ(parse_cfs_quota("250000", "0"), std::nullopt);
  EXPECT_EQ(parse_cfs_quota("0", "100000"), std::nullopt);
  EXPECT_EQ(parse_cfs_quota("-7", "100000"), std::nullopt);
  EXPECT_EQ(parse_cfs_quota("max", "100000"), std::nullopt);
  EXPECT_EQ(parse_cfs_quota("25e4", "100000"), std::nullopt);
}

TEST(UsableCpusFrom, QuotaRoundsUpAndLowersTheAffinityCountNeverBelowOne) {
  EXPECT_EQ(threads_for_quota(1.5), 2u);
  EXPECT_EQ(threads_for_quota(2.0), 2u);
  EXPECT_EQ(threads_for_quota(2.01), 3u);
  EXPECT_EQ(threads_for_quota(0.1), 1u);
  EXPECT_EQ(threads_for_quota(1e9), kMaxThreads);
  EXPECT_EQ(usable_cpus_from(8, std::nullopt), 8u);
  EXPECT_EQ(usable_cpus_from(8, 1.5), 2u);
  EXPECT_EQ(usable_cpus_from(2, 6.0), 2u);  // the quota never raises the count
  EXPECT_EQ(usable_cpus_from(0, std::nullopt), 1u);
  EXPECT_EQ(usable_cpus_from(4, 0.25), 1u);
}

// A made-up /sys/fs/cgroup in a temporary folder.
class CgroupTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("cnn-cgroup-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void write(const std::string& relative, const std::string& text) {
    const std::filesystem::path path = root_ / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }
  std::filesystem::path root_;
};

TEST_F(CgroupTree, V2TakesTheSmallestQuotaFromTheGroupUpToTheRoot) {
  write("cpu.max", "max 100000\n");
  write("jobs/cpu.max", "150000 100000\n");
  write("jobs/job-1/cpu.max", "400000 100000\n");
  EXPECT_EQ(cgroup_quota_cpus("0::/jobs/job-1\n", root_.string()), 1.5);
  EXPECT_EQ(cgroup_quota_cpus("0::/\n", root_.string()), std::nullopt);
}

TEST_F(CgroupTree, V2GroupNamedAsTheHostSeesItFallsBackToTheRoot) {
  write("cpu.max", "300000 100000\n");
  EXPECT_EQ(cgroup_quota_cpus("0::/docker/0123abcd\n", root_.string()), 3.0);
}

TEST_F(CgroupTree, V1ReadsTheCpuControllersQuota) {
  write("cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
  write("cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  write("cpu,cpuacct/slurm/cpu.cfs_quota_us", "250000\n");
  write("cpu,cpuacct/slurm/cpu.cfs_period_us", "100000\n");
  const std::string self = "5:cpu,cpuacct:/slurm\n3:memory:/slurm\n";
  EXPECT_EQ(cgroup_quota_cpus(self, root_.string()), 2.5);
  write("cpu,cpuacct/slurm/cpu.cfs_quota_us", "-1\n");
  EXPECT_EQ(cgroup_quota_cpus(self, root_.string()), std::nullopt);
}

TEST_F(CgroupTree, NoFilesMeanNoQuota) {
  EXPECT_EQ(cgroup_quota_cpus("0::/a\n4:cpu:/b\n", root_.string()), std::nullopt);
}

TEST(UsableCpus, FollowsTheAffinityMaskOfTheCallingThread) {
  if (affinity_cpus() < 2) GTEST_SKIP() << "this process may use only one CPU";
  const std::size_t before = usable_cpus();
  std::size_t pinned = 0, pinned_threads = 0;
  bool pinned_ok = false;
  // In a thread of its own, so the test's main thread keeps its mask whatever happens.
  std::thread([&] {
    cpu_set_t original;
    CPU_ZERO(&original);
    ASSERT_EQ(sched_getaffinity(0, sizeof original, &original), 0);
    int first = 0;
    while (!CPU_ISSET(first, &original)) ++first;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
    pinned = usable_cpus();
    set_num_threads(0);  // the default follows the mask too
    pinned_threads = num_threads();
    set_num_threads(1);
    pinned_ok = true;
    sched_setaffinity(0, sizeof original, &original);
  }).join();
  ASSERT_TRUE(pinned_ok);
  EXPECT_EQ(pinned, 1u);
  EXPECT_EQ(pinned_threads, 1u);
  EXPECT_EQ(usable_cpus(), before);
  EXPECT_GE(before, 1u);
  EXPECT_LE(before, hardware_threads());
}

}  // namespace
}  // namespace cnn::cpu_limits
