// Running the real cnn program from a test: synchronously (exit code and output) or in the
// background (for tests that signal or kill it), plus a small synthetic MNIST-format dataset that
// is quick to learn. Header-only: CNN_CLI_PATH is defined per test executable.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "assertions.hpp"
#include "cnn/data/idx.hpp"

extern char** environ;

namespace cnn::testing {

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

struct CliResult {
  int status = -1;  // exit code, or -1 when the program did not exit normally
  int signal = 0;   // the signal that ended it, if one did
  std::string out, err;
};

inline std::ostream& operator<<(std::ostream& os, const CliResult& r) {
  return os << "exit " << r.status << " signal " << r.signal << "\n--- stdout:\n"
            << r.out << "--- stderr:\n"
            << r.err;
}

// A cnn process started in the background, stdout and stderr going to files in scratch.
class CliProcess {
 public:
  CliProcess(const std::vector<std::string>& args, const std::filesystem::path& scratch,
             const std::string& tag = "")
      : out_file_(scratch / ("stdout" + tag + ".txt")),
        err_file_(scratch / ("stderr" + tag + ".txt")) {
    std::vector<std::string> argv_text = {CNN_CLI_PATH};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    // In the scratch folder, so that the run folders (runs/...) of `cnn train` go away with it.
    posix_spawn_file_actions_addchdir_np(&actions, scratch.c_str());
    const int spawned = posix_spawn(&pid_, CNN_CLI_PATH, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) {
      ADD_FAILURE() << "cannot start " << CNN_CLI_PATH << ": " << std::strerror(spawned);
      pid_ = -1;
    }
  }
  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;
  ~CliProcess() {
    if (pid_ > 0) {  // a test that failed half-way: do not leave the process behind
      ::kill(pid_, SIGKILL);
      wait();
    }
  }

  pid_t pid() const { return pid_; }
  // True while the process runs (it is not reaped).
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      finish(status);
      return false;
    }
    return true;
  }
  void send(int signal) {
    if (pid_ > 0) ::kill(pid_, signal);
  }
  CliResult wait() {
    if (pid_ > 0) {
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0) {
        if (errno != EINTR) {
          ADD_FAILURE() << "waitpid failed: " << std::strerror(errno);
          pid_ = -1;
          return result_;
        }
      }
      finish(status);
    }
    return result_;
  }

 private:
  void finish(int status) {
    if (WIFEXITED(status)) result_.status = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result_.signal = WTERMSIG(status);
    result_.out = read_text(out_file_);
    result_.err = read_text(err_file_);
    pid_ = -1;
  }

  std::filesystem::path out_file_, err_file_;
  pid_t pid_ = -1;
  CliResult result_;
};

// Runs cnn with args and waits for it.
inline CliResult run_cli(const std::vector<std::string>& args,
                         const std::filesystem::path& scratch) {
  return CliProcess(args, scratch).wait();
}

// count images of 28x28 in 10 classes: class k is a bright horizontal bar, 2 rows high, at rows
// 4 + 2k, 4 + 2k + 1, starting at a random column and 14 to 20 pixels long, over faint noise.
inline void synthetic_split(std::size_t count, std::uint32_t seed, cnn::IdxImages& images,
                            std::vector<std::uint8_t>& labels) {
  std::mt19937 random(seed);
  images.count = count;
  images.rows = 28;
  images.cols = 28;
  images.pixels.assign(count * 28 * 28, 0);
  labels.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t label = random() % 10;
    labels[i] = static_cast<std::uint8_t>(label);
    std::uint8_t* image = images.pixels.data() + i * 28 * 28;
    for (std::size_t p = 0; p < 28 * 28; ++p) image[p] = static_cast<std::uint8_t>(random() % 40);
    const std::size_t length = 14 + random() % 7, start = random() % (28 - length + 1);
    for (std::size_t row = 4 + 2 * label; row < 6 + 2 * label; ++row) {
      for (std::size_t col = start; col < start + length; ++col) {
        image[row * 28 + col] = static_cast<std::uint8_t>(200 + random() % 56);
      }
    }
  }
}

inline const char* const kMnistFiles[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

// Writes the synthetic dataset (train_count training and test_count test images, raw IDX) into
// dir.
inline void write_synthetic_mnist(const std::filesystem::path& dir, std::size_t train_count,
                                  std::size_t test_count) {
  cnn::IdxImages train_images, test_images;
  std::vector<std::uint8_t> train_labels, test_labels;
  synthetic_split(train_count, 1, train_images, train_labels);
  synthetic_split(test_count, 2, test_images, test_labels);
  cnn::write_idx_images(dir / kMnistFiles[0], train_images, false);
  cnn::write_idx_labels(dir / kMnistFiles[1], train_labels, false);
  cnn::write_idx_images(dir / kMnistFiles[2], test_images, false);
  cnn::write_idx_labels(dir / kMnistFiles[3], test_labels, false);
}

// A test suite sharing one synthetic dataset, written once into a fresh temporary folder (removed
// after the suite), with a fresh folder per test inside it (dir_).
template <std::size_t TrainCount, std::size_t TestCount>
class SyntheticDataTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::random_device random;
    const std::string suite = ::testing::UnitTest::GetInstance()->current_test_suite()->name();
    root_ = new std::filesystem::path(
        std::filesystem::temp_directory_path() /
        ("cnn-" + suite + "-" + std::to_string(getpid()) + "-" + std::to_string(random())));
    std::filesystem::create_directories(*root_ / "data");
    write_synthetic_mnist(*root_ / "data", TrainCount, TestCount);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    std::filesystem::remove_all(*root_, ec);
    delete root_;
    root_ = nullptr;
  }
  void SetUp() override {
    dir_ = *root_ / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_TRUE(std::filesystem::create_directory(dir_));
  }

  static std::string data() { return (*root_ / "data").string(); }

  static inline std::filesystem::path* root_ = nullptr;  // the suite's folder
  std::filesystem::path dir_;                            // this test's folder
};

}  // namespace cnn::testing
