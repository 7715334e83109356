// The bad-input table of docs/reliability.md, one row per kind of bad input to the cnn program:
// each row runs the real program and checks the exit code (2 for a usage error, 1 for a runtime
// error), that stderr is one "cnn: error: ..." line naming what is wrong, that nothing crashed or
// hung, and that no partial or temporary file was left behind. Rows that need a file system of
// their own (a full disk, a read-only one) mount a small tmpfs and skip, saying so, where that is
// not allowed (not root, or no mount permission in a container).
//
// CNN_PRINT_BAD_INPUT_TABLE=1 prints each row's command and message as a markdown table row, for
// the table in docs/reliability.md.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "cnn/data/idx.hpp"
#include "cnn/data/image.hpp"

namespace {

namespace fs = std::filesystem;
using cnn::testing::CliResult;
using cnn::testing::Contains;
using cnn::testing::lines_of;
using cnn::testing::read_text;
using cnn::testing::run_cli;

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

class BadInputTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::random_device random;
    root_ =
        new fs::path(fs::temp_directory_path() / ("cnn-bad-input-test-" + std::to_string(getpid()) +
                                                  "-" + std::to_string(random())));
    fs::create_directories(*root_ / "data");
    cnn::testing::write_synthetic_mnist(*root_ / "data", 100, 20);
    // A model and a checkpoint of the good data, for the rows about them.
    const CliResult r =
        run_cli({"train", "--data", data(), "--val", "20", "--iterations", "3", "--threads", "1",
                 "--save", (*root_ / "model.safetensors").string(), "--checkpoint-every", "2",
                 "--checkpoint", (*root_ / "run.ckpt").string()},
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
  void TearDown() override {
    for (const fs::path& mount : mounts_) ::umount2(mount.c_str(), MNT_DETACH);
  }

  static std::string data() { return (*root_ / "data").string(); }
  static std::string model() { return (*root_ / "model.safetensors").string(); }
  static std::string checkpoint() { return (*root_ / "run.ckpt").string(); }

  // A copy of the good data in dir_/name, then changed by `change`.
  fs::path data_copy(const std::string& name, const std::function<void(const fs::path&)>& change) {
    const fs::path copy = dir_ / name;
    fs::copy(*root_ / "data", copy);
    change(copy);
    return copy;
  }

  // A tmpfs of `bytes` at dir_/name (read-only when read_only); false when mounting is not
  // allowed here.
  bool mount_tmpfs(const std::string& name, std::size_t bytes, bool read_only = false) {
    const fs::path target = dir_ / name;
    fs::create_directory(target);
    const std::string options = "size=" + std::to_string(bytes);
    if (::mount("tmpfs", target.c_str(), "tmpfs", read_only ? MS_RDONLY : 0, options.c_str()) !=
        0) {
      skip_reason_ = std::string("cannot mount a tmpfs here (") + std::strerror(errno) +
                     "); this row needs root with mount permission";
      return false;
    }
    mounts_.push_back(target);
    return true;
  }

  // Runs the row: exit code, one "cnn: error:" line holding every phrase, a --help hint at most
  // after it, nothing left behind in the folders the run could write to.
  // An architecture error also shows the text and a caret under the position: context_lines 2.
  CliResult expect_error(const std::string& row, const std::vector<std::string>& args, int status,
                         const std::vector<std::string>& phrases, std::size_t context_lines = 0) {
    std::string command = "cnn";
    for (const std::string& a : args) command += " " + a;
    SCOPED_TRACE(row + ": " + command);
    const CliResult r = run_cli(args, dir_);
    EXPECT_EQ(r.status, status) << r;
    EXPECT_EQ(r.signal, 0) << r;
    const std::vector<std::string> lines = lines_of(r.err);
    EXPECT_FALSE(lines.empty()) << r;
    if (!lines.empty()) {
      EXPECT_EQ(lines[0].rfind("cnn: error: ", 0), 0u) << r;
      for (const std::string& phrase : phrases) EXPECT_TRUE(Contains(lines[0], phrase)) << r;
      EXPECT_LE(lines.size(), 2u + context_lines) << r;
      if (lines.size() == 2 + context_lines) {
        EXPECT_TRUE(Contains(lines.back(), "--help")) << r;
      }
      if (context_lines == 2 && lines.size() >= 3) {
        EXPECT_NE(lines[2].find('^'), std::string::npos) << "a caret under the position\n" << r;
      }
    }
    if (status == 2) {
      EXPECT_EQ(r.out, "") << "a usage error runs nothing\n" << r;
    }
    for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
      const std::string name = entry.path().filename().string();
      EXPECT_EQ(name.find(".tmp-"), std::string::npos) << "left behind: " << entry.path();
      EXPECT_EQ(name.find(".cnn-write-test"), std::string::npos) << "left behind: " << entry.path();
      EXPECT_NE(name, "out.safetensors") << "a model was written: " << entry.path();
    }
    if (std::getenv("CNN_PRINT_BAD_INPUT_TABLE") != nullptr && !lines.empty()) {
      const std::string test = testing::UnitTest::GetInstance()->current_test_info()->name();
      const std::string shown = relative(command), message = relative(lines[0]);
      std::cout << "| " << row << " | `" << shown << "` | " << status << " | " << message << " | "
                << test << " |\n";
    }
    return r;
  }

  // Paths relative to the test's folders, for the printed table: data, model.safetensors and
  // run.ckpt are the good ones, everything else lies in the row's own folder (".").
  std::string relative(const std::string& text) const {
    const std::string own = dir_.string(), root = root_->string();
    std::string result;
    for (std::size_t i = 0; i < text.size();) {
      if (text.compare(i, own.size() + 1, own + "/") == 0) {
        i += own.size() + 1;
      } else if (text.compare(i, own.size(), own) == 0) {
        result += '.';
        i += own.size();
      } else if (text.compare(i, root.size() + 1, root + "/") == 0) {
        i += root.size() + 1;
      } else {
        result += text[i++];
      }
    }
    return result;
  }

  std::string out() const { return (dir_ / "out.safetensors").string(); }

  static fs::path* root_;
  fs::path dir_;
  std::vector<fs::path> mounts_;
  std::string skip_reason_;
};

fs::path* BadInputTest::root_ = nullptr;

// ---- command lines ---------------------------------------------------------------------------

TEST_F(BadInputTest, MissingCommandUnknownCommandAndUnknownFlag) {
  expect_error("no command", {}, 2, {"a command is required: train, eval"});
  expect_error("unknown command", {"frob"}, 2, {"'frob' is not a command"});
  expect_error("unknown flag", {"train", "--data", data(), "--bogus"}, 2, {"--bogus"});
  expect_error("stray argument", {"train", "--data", data(), "stray"}, 2, {"stray"});
}

TEST_F(BadInputTest, MissingRequiredFlagsAndValues) {
  expect_error("missing --data", {"train"}, 2, {"--data", "required"});
  expect_error("missing --model", {"eval", "--data", data()}, 2, {"--model", "required"});
  expect_error("flag without its value", {"train", "--data", data(), "--lr"}, 2, {"--lr"});
}

TEST_F(BadInputTest, FlagValuesOfTheWrongType) {
  expect_error("not a number", {"train", "--data", data(), "--batch", "x"}, 2, {"--batch", "'x'"});
  expect_error("not a number", {"train", "--data", data(), "--lr", "abc"}, 2, {"--lr", "'abc'"});
  expect_error("fraction for an integer", {"train", "--data", data(), "--iterations", "2.5"}, 2,
               {"--iterations", "'2.5'"});
  expect_error("not a number", {"eval", "--model", model(), "--data", data(), "--threads", "many"},
               2, {"--threads", "'many'"});
}

TEST_F(BadInputTest, FlagValuesOutOfRange) {
  const std::string d = data();
  expect_error("out of range", {"train", "--data", d, "--batch", "0"}, 2, {"--batch", "'0'"});
  expect_error("out of range", {"train", "--data", d, "--batch", "100000"}, 2, {"--batch"});
  expect_error("out of range", {"train", "--data", d, "--lr", "0"}, 2, {"--lr", "> 0"});
  expect_error("out of range", {"train", "--data", d, "--lr", "-1"}, 2, {"--lr", "'-1'"});
  expect_error("not finite", {"train", "--data", d, "--lr", "nan"}, 2, {"--lr", "'nan'"});
  expect_error("not finite", {"train", "--data", d, "--lr", "inf"}, 2, {"--lr", "'inf'"});
  expect_error("out of range", {"train", "--data", d, "--momentum", "1"}, 2, {"--momentum"});
  expect_error("out of range", {"train", "--data", d, "--decay", "-0.1"}, 2, {"--decay"});
  expect_error("out of range", {"train", "--data", d, "--iterations", "0"}, 2, {"--iterations"});
  expect_error("out of range", {"train", "--data", d, "--epochs", "0"}, 2, {"--epochs"});
  expect_error("out of range", {"train", "--data", d, "--seed", "-5"}, 2, {"--seed"});
  expect_error("out of range", {"train", "--data", d, "--val", "-1"}, 2, {"--val"});
  expect_error("out of range", {"train", "--data", d, "--threads", "5000"}, 2, {"--threads"});
  expect_error("out of range", {"train", "--data", d, "--report-every", "0"}, 2,
               {"--report-every"});
  expect_error("out of range", {"train", "--data", d, "--checkpoint-every", "-1"}, 2,
               {"--checkpoint-every"});
  expect_error("out of range", {"eval", "--model", model(), "--data", d, "--batch", "0"}, 2,
               {"--batch"});
  expect_error("unknown preset", {"train", "--data", d, "--preset", "nope"}, 2,
               {"--preset", "nope", "seed", "lenet5"});
  expect_error("validation split too large", {"train", "--data", d, "--val", "100"}, 2,
               {"--val", "100 training images"});
}

TEST_F(BadInputTest, ArchitecturesAndRecipeFlags) {
  const std::string d = data();  // --val 20: the synthetic data set has 100 training images
  expect_error("architecture: unclosed parenthesis",
               {"train", "--data", d, "--val", "20", "--arch", "conv(8,3"}, 2,
               {"--arch", "line 1, column 5", "'(' is never closed"}, 2);
  expect_error("architecture: unknown layer",
               {"train", "--data", d, "--val", "20", "--arch", "conv(8,3) frob"}, 2,
               {"--arch", "column 11", "unknown layer 'frob'"}, 2);
  expect_error("architecture: shapes that do not fit",
               {"train", "--data", d, "--val", "20", "--arch",
                "conv(8,5) maxpool(2) conv(8,13) fc(classes)"},
               2, {"--arch", "'conv(8,13)' does not fit its input [N, 8, 12, 12]"}, 2);
  expect_error("architecture: wrong output",
               {"train", "--data", d, "--val", "20", "--arch", "conv(8,3) relu"}, 2,
               {"--arch", "ends with output [N, 8, 26, 26], expected [N, 10]"}, 2);
  expect_error("architecture: too large to build",
               {"train", "--data", d, "--val", "20", "--arch", "conv(100000,100) fc(classes)"}, 2,
               {"--arch", "more than 50000000 weights with 'conv(100000,100)'"}, 2);
  const std::string missing = (dir_ / "missing.arch").string();
  expect_error("missing --arch-file", {"train", "--data", d, "--val", "20", "--arch-file", missing},
               2, {"--arch-file", "cannot read '" + missing + "'"});
  expect_error("--arch with --preset",
               {"train", "--data", d, "--val", "20", "--arch", "fc(classes)", "--preset", "lenet5"},
               2, {"--arch", "--preset"});
  expect_error("unknown optimizer", {"train", "--data", d, "--val", "20", "--optimizer", "rmsprop"},
               2, {"--optimizer", "rmsprop"});
  expect_error("unknown schedule", {"train", "--data", d, "--val", "20", "--schedule", "linear"}, 2,
               {"--schedule", "linear"});
  expect_error("out of range", {"train", "--data", d, "--val", "20", "--rotate", "200"}, 2,
               {"--rotate", "200"});
  expect_error("out of range", {"train", "--data", d, "--val", "20", "--warmup", "1"}, 2,
               {"--warmup"});
  expect_error("out of range", {"train", "--data", d, "--val", "20", "--elastic", "-3"}, 2,
               {"--elastic", "-3"});
  expect_error("out of range", {"train", "--data", d, "--val", "20", "--elastic-sigma", "0"}, 2,
               {"--elastic-sigma", "0"});
}

TEST_F(BadInputTest, MisspeltNamesAndEmptyArchitectures) {
  const std::string d = data();
  expect_error("misspelt flag", {"train", "--data", d, "--epoch", "1"}, 2,
               {"unknown flag --epoch; did you mean --epochs?"});
  expect_error("misspelt command", {"trian", "--data", d}, 2,
               {"'trian' is not a command; did you mean train?"});
  expect_error("misspelt preset", {"train", "--data", d, "--preset", "lenet6"}, 2,
               {"--preset", "got 'lenet6'; did you mean lenet5?"});
  expect_error("misspelt optimizer", {"train", "--data", d, "--optimizer", "nestrov"}, 2,
               {"--optimizer", "did you mean nesterov?"});
  expect_error("empty --arch", {"train", "--data", d, "--val", "20", "--arch", ""}, 2,
               {"--arch", "has no layers"});
  write_text(dir_ / "empty.arch", "\n");
  expect_error("empty --arch-file",
               {"train", "--data", d, "--val", "20", "--arch-file", (dir_ / "empty.arch").string()},
               2, {"--arch-file", "is empty"});
}

TEST_F(BadInputTest, ConflictingFlags) {
  expect_error("--iterations with --epochs",
               {"train", "--data", data(), "--iterations", "5", "--epochs", "2"}, 2,
               {"--iterations", "--epochs"});
}

// ---- folders and output files ----------------------------------------------------------------

TEST_F(BadInputTest, MissingDataFolder) {
  const std::string missing = (dir_ / "no-data").string();
  expect_error("missing data folder", {"train", "--data", missing}, 2,
               {"--data", missing, "scripts/fetch-mnist.sh"});
  expect_error("missing data folder", {"eval", "--model", model(), "--data", missing}, 2,
               {"--data", missing});
}

TEST_F(BadInputTest, OutputsIntoMissingFoldersOrOntoFolders) {
  const std::string missing = (dir_ / "no-folder" / "x").string();
  expect_error("--save into a missing folder", {"train", "--data", data(), "--save", missing}, 2,
               {"--save", (dir_ / "no-folder").string(), "does not exist"});
  expect_error("--save onto a folder", {"train", "--data", data(), "--save", dir_.string()}, 2,
               {"--save", "is a folder"});
  expect_error("--checkpoint into a missing folder",
               {"train", "--data", data(), "--checkpoint-every", "5", "--checkpoint", missing}, 2,
               {"--checkpoint", "does not exist"});
  expect_error("--checkpoint onto a folder",
               {"train", "--data", data(), "--checkpoint", dir_.string()}, 2,
               {"--checkpoint", "is a folder"});
}

TEST_F(BadInputTest, OutputsOntoFilesTheCommandReads) {
  // Each of these once destroyed the file it named: a model, a CSV data file, an architecture
  // file, a checkpoint. Copies in the row's folder, so that a regression spares the fixtures.
  const fs::path model_copy = dir_ / "m.safetensors", checkpoint_copy = dir_ / "c.ckpt";
  fs::copy_file(model(), model_copy);
  fs::copy_file(checkpoint(), checkpoint_copy);
  const std::string m = model_copy.string(), c = checkpoint_copy.string();
  std::string csv_text = "label";
  for (int i = 0; i < 16; ++i) csv_text += ",p" + std::to_string(i);
  csv_text += "\n";
  for (int row = 0; row < 40; ++row) {
    csv_text += std::to_string(row % 2);
    for (int i = 0; i < 16; ++i) csv_text += i % 2 == row % 2 ? ",200" : ",0";
    csv_text += "\n";
  }
  write_text(dir_ / "d.csv", csv_text);
  write_text(dir_ / "a.arch", "fc(8) relu fc(classes)\n");
  const std::string csv = (dir_ / "d.csv").string(), arch = (dir_ / "a.arch").string();
  const std::string model_bytes = read_text(m), checkpoint_bytes = read_text(c);

  expect_error("--predictions-out onto the model",
               {"eval", "--model", m, "--data", data(), "--predictions-out", m}, 2,
               {"--predictions-out", "is the --model file", "would destroy it"});
  expect_error(
      "--predictions-out onto a CSV data file",
      {"eval", "--model", m, "--data", csv, "--predictions-out", (dir_ / "." / "d.csv").string()},
      2, {"--predictions-out", "is the --data file"});
  expect_error("--save onto a CSV data file",
               {"train", "--data", csv, "--arch", "fc(8) relu fc(classes)", "--save", csv}, 2,
               {"--save", "is the --data file"});
  expect_error("--save onto the --arch-file",
               {"train", "--data", data(), "--arch-file", arch, "--save", arch}, 2,
               {"--save", "is the --arch-file"});
  expect_error("--save onto the --checkpoint",
               {"train", "--data", data(), "--checkpoint", c, "--save", c}, 2,
               {"--save", "is the --checkpoint file"});
  expect_error("--save onto the --resume checkpoint",
               {"train", "--data", data(), "--resume", c, "--save", c}, 2,
               {"--save", "is the --resume checkpoint"});
  expect_error("lr-find --csv onto a CSV data file",
               {"lr-find", "--data", csv, "--arch", "fc(8) relu fc(classes)", "--csv", csv}, 2,
               {"--csv", "is the --data file"});
  EXPECT_EQ(read_text(m), model_bytes);
  EXPECT_EQ(read_text(c), checkpoint_bytes);
  EXPECT_EQ(read_text(dir_ / "d.csv"), csv_text);
  EXPECT_EQ(read_text(dir_ / "a.arch"), "fc(8) relu fc(classes)\n");
}

TEST_F(BadInputTest, ReadOnlyFolder) {
  if (!mount_tmpfs("read-only", 1 << 20, /*read_only=*/true)) GTEST_SKIP() << skip_reason_;
  const std::string folder = (dir_ / "read-only").string();
  expect_error("--save into a read-only folder",
               {"train", "--data", data(), "--save", folder + "/out.safetensors"}, 1,
               {"--save", "cannot write to folder '" + folder + "'", "Read-only file system"});
  expect_error(
      "--checkpoint into a read-only folder",
      {"train", "--data", data(), "--checkpoint-every", "5", "--checkpoint", folder + "/run.ckpt"},
      1, {"--checkpoint", "cannot write to folder", "Read-only file system"});
}

TEST_F(BadInputTest, FullDiskForTheModel) {
  // 64 KiB: room for the probe file, not for the 127 KB model.
  if (!mount_tmpfs("full", 64 << 10)) GTEST_SKIP() << skip_reason_;
  const fs::path target = dir_ / "full" / "out.safetensors";
  const CliResult r = expect_error(
      "full disk for --save",
      {"train", "--data", data(), "--val", "20", "--iterations", "3", "--save", target.string()}, 1,
      {target.string(), "No space left on device"});
  EXPECT_TRUE(fs::is_empty(dir_ / "full")) << "a partial file was left behind";
}

TEST_F(BadInputTest, FullDiskForACheckpointKeepsThePreviousOne) {
  // Room for one checkpoint (about 253 KB: weights, velocities, image order) but not a second
  // one next to it: the second write fails and the first stays whole.
  if (!mount_tmpfs("full", 400 << 10)) GTEST_SKIP() << skip_reason_;
  const fs::path target = dir_ / "full" / "run.ckpt";
  expect_error("full disk for a checkpoint",
               {"train", "--data", data(), "--val", "20", "--iterations", "10", "--threads", "1",
                "--checkpoint-every", "3", "--checkpoint", target.string()},
               1,
               {target.string(), "No space left on device",
                "the previous checkpoint, from iteration 3, is intact"});
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir_ / "full")) {
    names.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"run.ckpt"});
  // It still resumes (into a folder with room).
  const CliResult resumed = run_cli({"train", "--data", data(), "--resume", target.string(),
                                     "--checkpoint", (dir_ / "moved.ckpt").string()},
                                    dir_);
  EXPECT_EQ(resumed.status, 0) << resumed;
  EXPECT_TRUE(Contains(resumed.out, "resuming from " + target.string() + " at iteration 3"));
}

// ---- data files ------------------------------------------------------------------------------

TEST_F(BadInputTest, DataFolderMissingAFile) {
  const fs::path folder =
      data_copy("data", [](const fs::path& d) { fs::remove(d / "train-labels-idx1-ubyte"); });
  expect_error("data folder missing a file", {"train", "--data", folder.string()}, 1,
               {"train-labels-idx1-ubyte", "not found"});
}

TEST_F(BadInputTest, BrokenDataFiles) {
  const std::string images = "train-images-idx3-ubyte";
  const fs::path empty = data_copy("empty", [&](const fs::path& d) { write_text(d / images, ""); });
  expect_error("empty data file", {"train", "--data", empty.string()}, 1,
               {images, "header too short: 0 bytes"});
  const fs::path truncated =
      data_copy("truncated", [&](const fs::path& d) { fs::resize_file(d / images, 1000); });
  expect_error("truncated data file", {"train", "--data", truncated.string()}, 1,
               {images, "truncated", "100 images of 28x28"});
  const fs::path trailing = data_copy(
      "trailing", [&](const fs::path& d) { std::ofstream(d / images, std::ios::app) << "extra"; });
  expect_error("trailing bytes", {"train", "--data", trailing.string()}, 1,
               {images, "trailing data: 5 extra bytes"});
  const fs::path magic = data_copy("magic", [&](const fs::path& d) {
    fs::copy_file(d / "train-labels-idx1-ubyte", d / images, fs::copy_options::overwrite_existing);
  });
  expect_error("wrong magic number", {"train", "--data", magic.string()}, 1,
               {images, "wrong magic number 0x00000801", "looks like an IDX label file"});
  const fs::path gzip = data_copy("gzip", [&](const fs::path& d) {
    cnn::write_idx_images(d / (images + ".gz"), cnn::read_idx_images(d / images), true);
    fs::remove(d / images);
    std::fstream file(d / (images + ".gz"), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(40);
    file.write("\xff\xff\xff\xff\xff\xff\xff\xff", 8);
  });
  expect_error("corrupt gzip data", {"train", "--data", gzip.string()}, 1,
               {images + ".gz", "corrupt gzip data"});
  const fs::path gzip_cut = data_copy("gzip-cut", [&](const fs::path& d) {
    cnn::write_idx_images(d / (images + ".gz"), cnn::read_idx_images(d / images), true);
    fs::remove(d / images);
    fs::resize_file(d / (images + ".gz"), 100);
  });
  expect_error("truncated gzip file", {"train", "--data", gzip_cut.string()}, 1,
               {images + ".gz", "truncated"});
  const fs::path folder = data_copy("folder", [&](const fs::path& d) {
    fs::remove(d / images);
    fs::create_directory(d / images);
  });
  expect_error("a folder in place of a data file", {"train", "--data", folder.string()}, 1,
               {images, "is a folder"});
}

TEST_F(BadInputTest, DataFilesThatDoNotFitTogether) {
  const fs::path counts = data_copy("counts", [](const fs::path& d) {
    std::vector<std::uint8_t> labels = cnn::read_idx_labels(d / "train-labels-idx1-ubyte");
    labels.pop_back();
    cnn::write_idx_labels(d / "train-labels-idx1-ubyte", labels, false);
  });
  expect_error("image and label counts differ", {"train", "--data", counts.string()}, 1,
               {"100 images but", "99 labels"});
  // IDX files may hold any number of classes (the largest label + 1); class-names.txt fixes it.
  const fs::path label = data_copy("label", [](const fs::path& d) {
    std::vector<std::uint8_t> labels = cnn::read_idx_labels(d / "train-labels-idx1-ubyte");
    labels[7] = 10;
    cnn::write_idx_labels(d / "train-labels-idx1-ubyte", labels, false);
    write_text(d / "class-names.txt", "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n");
  });
  expect_error(
      "label out of range", {"train", "--data", label.string()}, 1,
      {"train-labels-idx1-ubyte", "label 10 at index 7", "10 classes of", "class-names.txt"});
  const fs::path sizes = data_copy("sizes", [](const fs::path& d) {
    cnn::IdxImages small;
    small.count = 20;
    small.rows = small.cols = 20;
    small.pixels.assign(20 * 400, 7);
    cnn::write_idx_images(d / "t10k-images-idx3-ubyte", small, false);
  });
  expect_error("test images of another size", {"train", "--data", sizes.string()}, 1,
               {"t10k-images-idx3-ubyte", "20x20"});
}

// ---- image folders, CSV and CIFAR-10 files ---------------------------------------------------

// A folder of class folders: `per_class` grey 8x8 PNGs in each of DIR/<part>/<class>/.
void write_image_folders(const fs::path& dir, const std::vector<std::string>& parts,
                         const std::vector<std::string>& classes, std::size_t per_class) {
  for (const std::string& part : parts) {
    for (std::size_t c = 0; c < classes.size(); ++c) {
      fs::create_directories(dir / part / classes[c]);
      for (std::size_t i = 0; i < per_class; ++i) {
        cnn::Image image{1, 8, 8,
                         std::vector<std::uint8_t>(64, static_cast<std::uint8_t>(40 * c + i))};
        cnn::write_png(dir / part / classes[c] / (std::to_string(i) + ".png"), image);
      }
    }
  }
}

TEST_F(BadInputTest, BadImageFolders) {
  const fs::path corrupt = dir_ / "corrupt";
  write_image_folders(corrupt, {"train", "test"}, {"cat", "dog"}, 6);
  write_text(corrupt / "train" / "dog" / "3.png", "\x89PNG\r\n\x1a\n broken");
  expect_error("a corrupt image in an image folder",
               {"train", "--data", corrupt.string(), "--no-cache"}, 1, {"dog", "3.png", "PNG"});
  const fs::path truncated = dir_ / "truncated";
  write_image_folders(truncated, {"train"}, {"cat", "dog"}, 6);
  fs::resize_file(truncated / "train" / "cat" / "2.png", 40);
  expect_error("a truncated image in an image folder",
               {"train", "--data", truncated.string(), "--no-cache"}, 1, {"cat", "2.png"});
  const fs::path size = dir_ / "size";
  write_image_folders(size, {"train"}, {"cat", "dog"}, 6);
  cnn::write_png(size / "train" / "dog" / "9.png",
                 cnn::Image{1, 9, 8, std::vector<std::uint8_t>(72, 1)});
  expect_error("an image of another size without --image-size",
               {"train", "--data", size.string(), "--no-cache"}, 1, {"9.png", "--image-size"});
  const fs::path empty = dir_ / "empty-class";
  write_image_folders(empty, {"train"}, {"cat", "dog"}, 6);
  fs::create_directories(empty / "train" / "emu");
  expect_error("an empty class folder", {"train", "--data", empty.string(), "--no-cache"}, 1,
               {"emu", "no images"});
  const fs::path extra = dir_ / "extra-class";
  write_image_folders(extra, {"train"}, {"cat", "dog"}, 6);
  write_image_folders(extra, {"test"}, {"cat", "zebra"}, 2);
  expect_error("a class in test/ that train/ lacks",
               {"train", "--data", extra.string(), "--no-cache"}, 1, {"zebra", "cat, dog"});
}

TEST_F(BadInputTest, BadCsvFiles) {
  const auto csv = [&](const std::string& name, const std::string& text) {
    const fs::path file = dir_ / name;
    write_text(file, text);
    return file.string();
  };
  // Lines joined (built with += rather than +, which trips GCC 12's -Wrestrict).
  const auto lines = [](std::initializer_list<const char*> parts) {
    std::string text;
    for (const char* part : parts) text += part, text += '\n';
    return text;
  };
  const char* row = "3,0,0,0,0";  // a label and 2x2 pixels
  const std::string columns = csv("columns.csv", lines({"label,a,b,c,d", row, "1,0,0,0", row}));
  expect_error("a CSV row with the wrong number of columns", {"train", "--data", columns}, 1,
               {"columns.csv", "line 3", "5"});
  const std::string word = csv("word.csv", lines({row, "1,0,x,0,0", row}));
  expect_error("a CSV value that is not a number", {"train", "--data", word}, 1,
               {"word.csv", "line 2", "x"});
  const std::string pixel = csv("pixel.csv", lines({row, row, "1,0,0,256,0"}));
  expect_error("a CSV pixel out of 0..255", {"train", "--data", pixel}, 1,
               {"pixel.csv", "line 3", "256"});
  const std::string label = csv("label.csv", lines({row, "300,0,0,0,0"}));
  expect_error("a CSV label out of range", {"train", "--data", label}, 1,
               {"label.csv", "line 2", "300"});
  const std::string empty = csv("empty.csv", "");
  expect_error("an empty CSV file", {"train", "--data", empty}, 1, {"empty.csv"});
}

TEST_F(BadInputTest, BadCifarFiles) {
  const fs::path dir = dir_ / "cifar";
  fs::create_directories(dir);
  const std::string record(3073, '\x01');
  for (int b = 1; b <= 5; ++b)
    write_text(dir / ("data_batch_" + std::to_string(b) + ".bin"), record + record);
  write_text(dir / "test_batch.bin", record + record.substr(0, 100));
  expect_error("a CIFAR-10 batch of the wrong length", {"train", "--data", dir.string()}, 1,
               {"test_batch.bin", "3073"});
}

// ---- model files -----------------------------------------------------------------------------

TEST_F(BadInputTest, BrokenModelFiles) {
  const std::string missing = (dir_ / "missing.safetensors").string();
  expect_error("missing model file", {"eval", "--model", missing, "--data", data()}, 1,
               {missing, "no such file"});
  expect_error("folder as model file", {"eval", "--model", dir_.string(), "--data", data()}, 1,
               {dir_.string(), "is a folder"});
  const fs::path text = dir_ / "text.safetensors";
  write_text(text, "not a model file");
  expect_error("not a safetensors file", {"eval", "--model", text.string(), "--data", data()}, 1,
               {text.string(), "header length"});
  const fs::path cut = dir_ / "cut.safetensors";
  fs::copy_file(model(), cut);
  fs::resize_file(cut, fs::file_size(cut) - 100);
  expect_error("truncated model file", {"eval", "--model", cut.string(), "--data", data()}, 1,
               {cut.string(), "outside the", "truncated file?"});
  const fs::path ckpt = dir_ / "checkpoint-as-model.safetensors";
  fs::copy_file(checkpoint(), ckpt);
  expect_error("a checkpoint given as a model",
               {"eval", "--model", ckpt.string(), "--data", data()}, 1,
               {ckpt.string(), "unexpected tensor"});
  const fs::path other = dir_ / "other";
  fs::create_directory(other);
  cnn::IdxImages small;
  small.count = 5;
  small.rows = small.cols = 20;
  small.pixels.assign(5 * 400, 7);
  cnn::write_idx_images(other / "t10k-images-idx3-ubyte", small, false);
  cnn::write_idx_labels(other / "t10k-labels-idx1-ubyte", std::vector<std::uint8_t>(5, 1), false);
  // A model file whose recorded architecture asks for 100 million weights: refused before any
  // allocation (the header keeps its length, the new text padded with JSON white space).
  const fs::path huge = dir_ / "huge-architecture.safetensors";
  {
    std::string bytes = read_text(model());
    const std::string key = "\"architecture\":\"";
    const std::size_t begin = bytes.find(key) + key.size();
    const std::size_t end = bytes.find('"', begin);
    const std::string network = "conv(100000,1000) fc(classes)";
    ASSERT_NE(bytes.find(key), std::string::npos);
    ASSERT_LE(network.size(), end - begin);
    bytes.replace(begin, end + 1 - begin,
                  network + "\"" + std::string(end - begin - network.size(), ' '));
    write_text(huge, bytes);
  }
  expect_error("model file with a network too large to build",
               {"eval", "--model", huge.string(), "--data", data()}, 1,
               {huge.string(), "cannot build the architecture", "more than 50000000 weights"}, 2);
  expect_error("model for another image size",
               {"eval", "--model", model(), "--data", other.string()}, 1,
               {"the model takes images [1, 28, 28]", "[1, 20, 20]"});
}

// ---- checkpoints -----------------------------------------------------------------------------

TEST_F(BadInputTest, BrokenCheckpoints) {
  const std::string missing = (dir_ / "missing.ckpt").string();
  expect_error("missing checkpoint", {"train", "--data", data(), "--resume", missing}, 1,
               {missing, "no such file"});
  expect_error("a model given as a checkpoint", {"train", "--data", data(), "--resume", model()}, 1,
               {model(), "not a checkpoint"});
  const fs::path cut = dir_ / "cut.ckpt";
  fs::copy_file(checkpoint(), cut);
  fs::resize_file(cut, fs::file_size(cut) / 2);
  expect_error("truncated checkpoint", {"train", "--data", data(), "--resume", cut.string()}, 1,
               {cut.string(), "truncated file?"});
  expect_error("resume with a different setting",
               {"train", "--data", data(), "--resume", checkpoint(), "--lr", "0.5"}, 2,
               {"--lr", "the checkpoint's run used 0.01", "not 0.5"});
  const fs::path fewer = data_copy("fewer", [](const fs::path& d) {
    cnn::IdxImages images = cnn::read_idx_images(d / "train-images-idx3-ubyte");
    std::vector<std::uint8_t> labels = cnn::read_idx_labels(d / "train-labels-idx1-ubyte");
    images.count = 60;
    images.pixels.resize(60 * 28 * 28);
    labels.resize(60);
    cnn::write_idx_images(d / "train-images-idx3-ubyte", images, false);
    cnn::write_idx_labels(d / "train-labels-idx1-ubyte", labels, false);
  });
  expect_error("resume on other data",
               {"train", "--data", fewer.string(), "--resume", checkpoint()}, 1,
               {checkpoint(), "trained on 80 images", "gives 40"});
}

TEST_F(BadInputTest, PredictSavePreparedFolder) {
  const std::string digit = (dir_ / "digit.pgm").string();
  fs::copy_file(fs::path(CNN_SOURCE_DIR) / "tests/fixtures/digits/3-small-64x64.pgm", digit);
  write_text(dir_ / "notes.txt", "a file\n");
  const std::string file = (dir_ / "notes.txt").string();
  expect_error("--save-prepared names a file",
               {"predict", "--model", model(), "--save-prepared", file, digit}, 2,
               {"--save-prepared", "notes.txt' is a file, expected a folder"});
  expect_error("--save-prepared under a file",
               {"predict", "--model", model(), "--save-prepared", file + "/prepared", digit}, 1,
               {"--save-prepared: cannot create folder", "notes.txt/prepared"});
}

}  // namespace
