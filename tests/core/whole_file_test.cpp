// The one whole-file reader: the bytes as they are, whatever their size, and each failure in the
// wording its caller asked for (the callers' own tests check their messages end to end).
#include "core/whole_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "assertions.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using cnn::testing::Contains;
using cnn::testing::error_message;

class WholeFileTest : public cnn::testing::TempDirTest {
 protected:
  WholeFileTest() : TempDirTest("cnn-whole-file-test") {}

  fs::path write(const std::string& name, const std::vector<std::uint8_t>& bytes) {
    std::ofstream(path(name), std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    return path(name);
  }
};

const cnn::FileReadMessages kModel{.folder = "is a folder, not a model file"};
const cnn::FileReadMessages kIdx{.folder = "is a folder, expected a file",
                                 .errno_in_parentheses = true};

TEST_F(WholeFileTest, ReadsEveryByteOfEmptySmallAndLargeFiles) {
  for (const std::size_t size :
       {std::size_t{0}, std::size_t{1}, std::size_t{4096}, std::size_t{3} << 20}) {
    SCOPED_TRACE(size);
    std::vector<std::uint8_t> bytes(size);
    for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>(i * 7 + i / 251);
    EXPECT_EQ(cnn::read_whole_file(write("f", bytes), kModel), bytes);
  }
}

TEST_F(WholeFileTest, MissingFileAndFolderInTheCallersWords) {
  const fs::path missing = path("missing");
  EXPECT_EQ(error_message<cnn::FileReadError>([&] { cnn::read_whole_file(missing, kModel); }),
            missing.string() + ": no such file");
  EXPECT_EQ(error_message<cnn::FileReadError>([&] { cnn::read_whole_file(dir_, kModel); }),
            dir_.string() + ": is a folder, not a model file");
  EXPECT_EQ(error_message<cnn::FileReadError>([&] { cnn::read_whole_file(dir_, kIdx); }),
            dir_.string() + ": is a folder, expected a file");
}

TEST_F(WholeFileTest, UnreadableFileInTheCallersWords) {
  if (geteuid() == 0) GTEST_SKIP() << "running as root: a file with mode 000 is still readable";
  const fs::path file = write("locked", {1, 2, 3});
  fs::permissions(file, fs::perms::none);
  EXPECT_EQ(error_message<cnn::FileReadError>([&] { cnn::read_whole_file(file, kModel); }),
            file.string() + ": cannot open: Permission denied");
  EXPECT_EQ(error_message<cnn::FileReadError>([&] { cnn::read_whole_file(file, kIdx); }),
            file.string() + ": cannot read (permission denied)");
}

TEST_F(WholeFileTest, FileOverTheLimitIsRefused) {
  const cnn::FileReadMessages image{
      .folder = "is a folder, not an image", .max_bytes = 100, .too_large_for = "an image"};
  const fs::path file = write("big", std::vector<std::uint8_t>(101, 1));
  EXPECT_EQ(error_message<cnn::FileReadError>([&] { cnn::read_whole_file(file, image); }),
            file.string() + ": 101 bytes is too large for an image");
  EXPECT_EQ(cnn::read_whole_file(write("fits", std::vector<std::uint8_t>(100, 1)), image).size(),
            100u);
}

TEST_F(WholeFileTest, ReadWholeFileAsRethrowsAsTheCallersError) {
  EXPECT_TRUE(Contains(error_message<std::invalid_argument>([&] {
                         cnn::read_whole_file_as<std::invalid_argument>(path("none"), kModel);
                       }),
                       "none: no such file"));
}

}  // namespace
