// `cnn export MODEL.safetensors MODEL.onnx` on the real program: a model exported, and the bad
// inputs of docs/reliability.md's table for it (exit code, one "cnn: error:" line naming the
// file, nothing left behind). Without ONNX support in the build (CNN_WITH_ONNX unset), the
// command must say so and how to get it, exit 2.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "cli_runner.hpp"

namespace {

namespace fs = std::filesystem;
using cnn::testing::CliResult;
using cnn::testing::lines_of;
using cnn::testing::read_text;
using cnn::testing::run_cli;

class ExportTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::random_device random;
    root_ =
        new fs::path(fs::temp_directory_path() / ("cnn-export-test-" + std::to_string(getpid()) +
                                                  "-" + std::to_string(random())));
    fs::create_directories(*root_ / "data");
    cnn::testing::write_synthetic_mnist(*root_ / "data", 100, 20);
    const CliResult r =
        run_cli({"train", "--data", (*root_ / "data").string(), "--val", "20", "--iterations", "3",
                 "--threads", "1", "--preset", "fast", "--save", model()},
                *root_);
    ASSERT_EQ(r.status, 0) << r;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*root_, ec);
    delete root_;
    root_ = nullptr;
  }
  void SetUp() override {
    dir_ = *root_ / testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_TRUE(fs::create_directory(dir_));
  }
  static std::string model() { return (*root_ / "model.safetensors").string(); }

  // The one error line, checked for the exit code and for naming `named`; no file but the
  // files_left the test made itself in dir_ (no partial target, no temporary file).
  void expect_error(const CliResult& r, int status, const std::string& named,
                    std::size_t files_left = 0) {
    EXPECT_EQ(r.status, status) << r;
    const auto lines = lines_of(r.err);
    ASSERT_GE(lines.size(), 1u) << r;
    EXPECT_EQ(lines[0].rfind("cnn: error: ", 0), 0u) << r;
    EXPECT_NE(lines[0].find(named), std::string::npos) << r;
    std::size_t files = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
      // run_cli's own stdout*.txt and stderr*.txt are in the scratch folder too.
      const std::string name = entry.path().filename().string();
      if (name.rfind("stdout", 0) != 0 && name.rfind("stderr", 0) != 0) ++files;
    }
    EXPECT_EQ(files, files_left) << "something was left behind in " << dir_;
  }

  static fs::path* root_;
  fs::path dir_;
};

fs::path* ExportTest::root_ = nullptr;

#ifdef CNN_WITH_ONNX

TEST_F(ExportTest, WritesAnOnnxModel) {
  const fs::path target = dir_ / "model.onnx";
  const CliResult r = run_cli({"export", model(), target.string()}, dir_);
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_NE(r.out.find("opset 13"), std::string::npos) << r;
  const std::string bytes = read_text(target);
  // A ModelProto starts with field 1 (ir_version, varint): 0x08, then 7.
  ASSERT_GE(bytes.size(), 2u);
  EXPECT_EQ(bytes[0], '\x08');
  EXPECT_EQ(bytes[1], '\x07');
  EXPECT_NE(bytes.find("logits"), std::string::npos);
}

TEST_F(ExportTest, NotAModelFile) {
  const fs::path bad = dir_ / "notes.safetensors";
  std::ofstream(bad) << "these are notes, not a model";
  expect_error(run_cli({"export", bad.string(), (dir_ / "m.onnx").string()}, dir_), 1, bad.string(),
               1);
}

TEST_F(ExportTest, MissingModelFile) {
  const fs::path missing = dir_ / "missing.safetensors";
  expect_error(run_cli({"export", missing.string(), (dir_ / "m.onnx").string()}, dir_), 1,
               missing.string());
}

TEST_F(ExportTest, TargetInAMissingFolder) {
  const fs::path target = dir_ / "no-such-folder" / "m.onnx";
  expect_error(run_cli({"export", model(), target.string()}, dir_), 1, target.string());
}

TEST_F(ExportTest, TargetIsAFolder) {
  const fs::path target = dir_ / "a-folder";
  fs::create_directory(target);
  expect_error(run_cli({"export", model(), target.string()}, dir_), 1, target.string(), 1);
}

TEST_F(ExportTest, TargetIsTheModelItselfIsRefusedAndTheModelKept) {
  // Once `cnn export m.safetensors m.safetensors` replaced the model with its ONNX graph.
  const fs::path copy = dir_ / "m.safetensors";
  fs::copy_file(model(), copy);
  for (const std::string& target : {copy.string(), (dir_ / "." / "m.safetensors").string()}) {
    expect_error(run_cli({"export", copy.string(), target}, dir_), 2,
                 "TARGET: '" + target + "' is the MODEL file being exported", 1);
  }
  EXPECT_EQ(read_text(copy), read_text(model()));
}

TEST_F(ExportTest, UnwritableFolder) {
  if (geteuid() == 0) GTEST_SKIP() << "root writes into a read-only folder anyway";
  const fs::path folder = dir_ / "read-only";
  fs::create_directory(folder);
  fs::permissions(folder, fs::perms::owner_read | fs::perms::owner_exec);
  const fs::path target = folder / "m.onnx";
  const CliResult r = run_cli({"export", model(), target.string()}, dir_);
  fs::permissions(folder, fs::perms::owner_all);
  expect_error(r, 1, target.string(), 1);
}

#else

TEST_F(ExportTest, SaysTheBuildHasNoOnnxSupport) {
  const CliResult r = run_cli({"export", model(), (dir_ / "m.onnx").string()}, dir_);
  EXPECT_EQ(r.status, 2) << r;
  EXPECT_NE(r.err.find("no ONNX support"), std::string::npos) << r;
  EXPECT_NE(r.err.find("libonnx-dev"), std::string::npos) << r;
  EXPECT_FALSE(fs::exists(dir_ / "m.onnx"));
}

#endif

TEST_F(ExportTest, NeedsBothArguments) {
  expect_error(run_cli({"export", model()}, dir_), 2, "TARGET");
}

}  // namespace
