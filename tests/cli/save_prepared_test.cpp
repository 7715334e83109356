// cnn predict --save-prepared DIR: one file per input, named after the input's whole file name
// (so 7.jpg and 7.png do not overwrite each other), duplicates numbered, DIR created when missing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cli_runner.hpp"

namespace {

namespace fs = std::filesystem;
using cnn::testing::CliResult;
using cnn::testing::Contains;
using cnn::testing::run_cli;

const fs::path kDigits = fs::path(CNN_SOURCE_DIR) / "tests" / "fixtures" / "digits";

class SavePreparedTest : public testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = fs::temp_directory_path() /
           ("cnn-save-prepared-test-" + std::to_string(getpid()) + "-" + std::to_string(random()));
    fs::create_directories(dir_ / "data");
    cnn::testing::write_synthetic_mnist(dir_ / "data", 100, 20);
    // Any model will do: what is checked is the files written, not the classes.
    const CliResult r = run_cli({"train", "--data", (dir_ / "data").string(), "--val", "20",
                                 "--iterations", "2", "--threads", "1", "--save", model()},
                                dir_);
    ASSERT_EQ(r.status, 0) << r;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string model() const { return (dir_ / "model.safetensors").string(); }

  static std::set<std::string> names_in(const fs::path& folder) {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(folder)) {
      names.insert(entry.path().filename().string());
    }
    return names;
  }

  fs::path dir_;
};

TEST_F(SavePreparedTest, ThirteenInputsGiveThirteenFilesInAFolderThatIsCreated) {
  // The ten drawings, the small 3 again as a ".jpg" (the format is read from the bytes, so it
  // is a PGM all the same: same stem, other extension), an 8 of the same name in another
  // folder, and the 0 given twice.
  std::vector<std::string> inputs;
  for (const auto& entry : fs::directory_iterator(kDigits)) {
    const std::string extension = entry.path().extension().string();
    if (extension == ".png" || extension == ".jpg" || extension == ".pgm") {
      inputs.push_back(entry.path().string());
    }
  }
  ASSERT_EQ(inputs.size(), 10u);
  fs::create_directories(dir_ / "other");
  fs::copy_file(kDigits / "3-small-64x64.pgm", dir_ / "3-small-64x64.jpg");
  fs::copy_file(kDigits / "8-black-on-white-200x200.png",
                dir_ / "other" / "8-black-on-white-200x200.png");
  inputs.push_back((dir_ / "3-small-64x64.jpg").string());
  inputs.push_back((dir_ / "other" / "8-black-on-white-200x200.png").string());
  inputs.push_back((kDigits / "0-black-on-white-300x300.png").string());

  const fs::path out = dir_ / "not" / "there" / "yet";  // with parents that do not exist either
  std::vector<std::string> args = {"predict", "--model", model(), "--save-prepared", out.string()};
  args.insert(args.end(), inputs.begin(), inputs.end());
  const CliResult r = run_cli(args, dir_);
  ASSERT_EQ(r.status, 0) << r;

  const std::set<std::string> names = names_in(out);
  EXPECT_EQ(names.size(), 13u);
  for (const char* name :
       {"3-small-64x64.pgm-28x28.pgm", "3-small-64x64.jpg-28x28.pgm",
        "8-black-on-white-200x200.png-28x28.pgm", "8-black-on-white-200x200.png-2-28x28.pgm",
        "0-black-on-white-300x300.png-28x28.pgm", "0-black-on-white-300x300.png-2-28x28.pgm",
        "9-large-1000x800.jpg-28x28.pgm"}) {
    EXPECT_EQ(names.count(name), 1u) << name;
  }
  for (const std::string& name : names) {
    EXPECT_EQ(fs::file_size(out / name), 13u + 28 * 28) << name << ": a 28x28 binary PGM";
  }
}

TEST_F(SavePreparedTest, AFileWhereTheFolderShouldBeIsRefused) {
  const fs::path file = dir_ / "notes.txt";
  std::ofstream(file) << "not a folder\n";
  const std::string digit = (kDigits / "3-small-64x64.pgm").string();
  const CliResult r =
      run_cli({"predict", "--model", model(), "--save-prepared", file.string(), digit}, dir_);
  EXPECT_EQ(r.status, 2) << r;
  EXPECT_EQ(r.out, "") << r;
  EXPECT_TRUE(Contains(r.err, "--save-prepared: '" + file.string() + "' is a file")) << r;
  EXPECT_EQ(cnn::testing::read_text(file), "not a folder\n");

  const CliResult under = run_cli(
      {"predict", "--model", model(), "--save-prepared", (file / "sub").string(), digit}, dir_);
  EXPECT_EQ(under.status, 1) << under;
  EXPECT_EQ(under.out, "") << under;
  EXPECT_TRUE(Contains(under.err, "--save-prepared: cannot create folder")) << under;
}

}  // namespace
