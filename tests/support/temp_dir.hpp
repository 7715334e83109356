// A test fixture with a fresh, empty folder per test, removed afterwards (permissions restored
// first, for tests that make it read-only).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>

namespace cnn::testing {

class TempDirTest : public ::testing::Test {
 protected:
  explicit TempDirTest(std::string prefix) : prefix_(std::move(prefix)) {}

  void SetUp() override {
    const std::string test_name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::random_device random;
    dir_ = std::filesystem::temp_directory_path() /
           (prefix_ + "-" + test_name + "-" + std::to_string(getpid()) + "-" +
            std::to_string(random()));
    ASSERT_TRUE(std::filesystem::create_directory(dir_)) << dir_ << " already exists";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path path(const std::string& name) const { return dir_ / name; }

  std::filesystem::path dir_;

 private:
  std::string prefix_;
};

}  // namespace cnn::testing
