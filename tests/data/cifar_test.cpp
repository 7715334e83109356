// No copy of CIFAR-10 is reachable here: every file is written in the format by these tests.
#include "cnn/data/cifar.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "assertions.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;
using Names = std::vector<std::string>;

using cnn::testing::Contains;
using cnn::testing::error_message;

constexpr std::size_t kRecord = 3073;

const Names kStandardNames = {"airplane", "automobile", "bird",  "cat",  "deer",
                              "dog",      "frog",       "horse", "ship", "truck"};

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Bytes read_bytes(const fs::path& path) {
  const std::string text = read_text(path);
  return Bytes(text.begin(), text.end());
}

void write_bytes(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// `count` images of 3x32x32 whose pixels depend on `seed`, labels cycling from seed % 10.
cnn::LabelledImages sample_images(std::size_t count, std::size_t seed) {
  cnn::LabelledImages images;
  images.image = cnn::Shape{3, 32, 32};
  for (std::size_t i = 0; i < count * 3072; ++i) {
    images.pixels.push_back(static_cast<std::uint8_t>((i * 37 + seed * 101 + 11) % 256));
  }
  for (std::size_t i = 0; i < count; ++i) {
    images.labels.push_back(static_cast<std::uint8_t>((i + seed) % 10));
  }
  images.class_names = cnn::numbered_class_names(10);
  return images;
}

// Records built by hand: label, then red, green and blue planes filled with 3 distinct values.
Bytes hand_made_records(const Bytes& labels) {
  Bytes bytes;
  for (std::size_t r = 0; r < labels.size(); ++r) {
    bytes.push_back(labels[r]);
    for (std::uint8_t channel = 0; channel < 3; ++channel) {
      bytes.insert(bytes.end(), 1024, static_cast<std::uint8_t>(10 * r + channel));
    }
  }
  return bytes;
}

std::string batch_error(const Bytes& bytes) {
  return error_message<cnn::DataError>([&] { cnn::parse_cifar_batch(bytes, "data_batch_1.bin"); });
}

Names parse_names(const std::string& text) {
  return cnn::parse_cifar_names(text, "batches.meta.txt");
}

std::string names_error(const std::string& text) {
  return error_message<cnn::DataError>([&] { parse_names(text); });
}

class CifarTest : public cnn::testing::TempDirTest {
 protected:
  CifarTest() : TempDirTest("cnn-cifar-test") {}

  // A CIFAR-10 folder with batches of the given sizes (train 1..5, then test).
  void write_folder(const std::vector<std::size_t>& sizes, bool meta) {
    for (std::size_t b = 0; b < 5; ++b) {
      cnn::write_cifar_batch(path("data_batch_" + std::to_string(b + 1) + ".bin"),
                             sample_images(sizes[b], b));
    }
    cnn::write_cifar_batch(path("test_batch.bin"), sample_images(sizes[5], 5));
    if (meta) cnn::write_cifar_names(path("batches.meta.txt"), kStandardNames);
  }
};

TEST_F(CifarTest, BatchRoundTripsAndIsRecordsOfLabelThenPlanes) {
  const cnn::LabelledImages images = sample_images(4, 3);
  const fs::path file = path("data_batch_1.bin");
  cnn::write_cifar_batch(file, images);

  const Bytes bytes = read_bytes(file);
  ASSERT_EQ(bytes.size(), 4 * kRecord);
  for (std::size_t r = 0; r < 4; ++r) {
    EXPECT_EQ(bytes[r * kRecord], images.labels[r]) << "record " << r;
    EXPECT_TRUE(std::equal(bytes.begin() + static_cast<long>(r * kRecord + 1),
                           bytes.begin() + static_cast<long>((r + 1) * kRecord),
                           images.pixels.begin() + static_cast<long>(r * 3072)))
        << "record " << r;
  }

  const cnn::LabelledImages back = cnn::load_cifar_batch(file);
  EXPECT_EQ(back.image, (cnn::Shape{3, 32, 32}));
  EXPECT_EQ(back.labels, images.labels);
  EXPECT_EQ(back.pixels, images.pixels);
  EXPECT_EQ(back.class_names, cnn::numbered_class_names(10));
}

TEST_F(CifarTest, HandMadeRecordsGiveLabelsAndPlanarPixels) {
  const cnn::LabelledImages images =
      cnn::parse_cifar_batch(hand_made_records({9, 0, 5}), "data_batch_1.bin");
  EXPECT_EQ(images.labels, (Bytes{9, 0, 5}));
  ASSERT_EQ(images.pixels.size(), 3u * 3072);
  // Image 1: red plane 10, green 11, blue 12.
  EXPECT_EQ(images.pixels[3072], 10);
  EXPECT_EQ(images.pixels[3072 + 1023], 10);
  EXPECT_EQ(images.pixels[3072 + 1024], 11);
  EXPECT_EQ(images.pixels[3072 + 2048], 12);
  EXPECT_EQ(images.pixels[2 * 3072 + 3071], 22);
}

TEST_F(CifarTest, GzipCompressedBatch) {
  const cnn::LabelledImages images = sample_images(2, 1);
  const Bytes raw = [&] {
    cnn::write_cifar_batch(path("raw.bin"), images);
    return read_bytes(path("raw.bin"));
  }();
  gzFile file = gzopen(path("test_batch.bin").c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, raw.data(), static_cast<unsigned>(raw.size())),
            static_cast<int>(raw.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
  EXPECT_EQ(cnn::load_cifar_batch(path("test_batch.bin")).pixels, images.pixels);
}

TEST_F(CifarTest, EmptyBatch) {
  EXPECT_TRUE(Contains(batch_error({}),
                       "data_batch_1.bin: empty file; expected 3073-byte records: 1 label byte and "
                       "3072 pixel bytes"));
}

TEST_F(CifarTest, BatchCutShort) {
  Bytes bytes = hand_made_records({1, 2, 3});
  bytes.resize(2 * kRecord + 5);
  EXPECT_TRUE(Contains(batch_error(bytes),
                       "data_batch_1.bin: 6151 bytes is not a whole number of records: record 3 "
                       "is cut after 5 bytes; expected 3073-byte records: 1 label byte and 3072 "
                       "pixel bytes"));
  // Shorter than one record.
  EXPECT_TRUE(Contains(batch_error(Bytes{1}),
                       "data_batch_1.bin: 1 bytes is not a whole number of records: record 1 is "
                       "cut after 1 byte; expected 3073-byte records"));
  // One byte too many.
  bytes = hand_made_records({1, 2});
  bytes.push_back(0);
  EXPECT_TRUE(Contains(batch_error(bytes), "record 3 is cut after 1 byte"));
  // The brief's example: 10,000 records and one byte.
  bytes = hand_made_records(Bytes(10000, 4));
  bytes.push_back(7);
  EXPECT_TRUE(Contains(batch_error(bytes),
                       "data_batch_1.bin: 30730001 bytes is not a whole number of records: record "
                       "10001 is cut after 1 byte"));
}

TEST_F(CifarTest, Cifar100RecordsAreRecognised) {
  const Bytes bytes(2 * 3074, 1);  // two records of CIFAR-100's layout
  const std::string message = batch_error(bytes);
  EXPECT_TRUE(Contains(message, "record 3 is cut after 2 bytes"));
  EXPECT_TRUE(Contains(message, "3074-byte records are CIFAR-100's"));
  // An ordinary cut record does not mention it.
  EXPECT_FALSE(Contains(batch_error(Bytes(kRecord + 5, 1)), "CIFAR-100"));
}

TEST_F(CifarTest, LabelAboveNine) {
  EXPECT_TRUE(Contains(batch_error(hand_made_records({3, 10, 4})),
                       "data_batch_1.bin: record 2 (byte offset 3073): label 10 is not a CIFAR-10 "
                       "class; expected 0..9"));
  EXPECT_TRUE(Contains(batch_error(hand_made_records({255})),
                       "record 1 (byte offset 0): label 255 is not a CIFAR-10 class"));
}

TEST_F(CifarTest, NamesAreTrimmedWithEmptyLinesDropped) {
  EXPECT_EQ(parse_names("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n"),
            kStandardNames);
  // CR LF, spaces, tabs and blank lines (the real file ends with blank lines), a BOM.
  EXPECT_EQ(parse_names("\xEF\xBB\xBF"
                        "airplane\r\nautomobile  \r\n\tbird\ncat\n\ndeer\ndog\nfrog\nhorse\nship\n"
                        "truck\n\n\n"),
            kStandardNames);
  // No line end at the end; names with spaces and UTF-8 letters.
  const Names names = parse_names("a b\nc\u00e9\nd\ne\nf\ng\nh\ni\nj\n\u732b");
  EXPECT_EQ(names.front(), "a b");
  EXPECT_EQ(names[1], "c\u00e9");
  EXPECT_EQ(names.back(), "\u732b");
}

TEST_F(CifarTest, NamesMustBeTenDifferentUsableNames) {
  EXPECT_TRUE(Contains(names_error("a\nb\nc\nd\ne\nf\ng\nh\ni\n"),
                       "batches.meta.txt: 9 class names; expected 10, one per line (the names of "
                       "labels 0..9)"));
  EXPECT_TRUE(Contains(names_error("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n"),
                       "batches.meta.txt: 12 class names; expected 10"));
  EXPECT_TRUE(Contains(names_error(""), "batches.meta.txt: 0 class names; expected 10"));
  EXPECT_TRUE(Contains(names_error("\n \r\n"), "batches.meta.txt: 0 class names"));
  EXPECT_TRUE(Contains(names_error("only\n"), "batches.meta.txt: 1 class name; expected 10"));
  EXPECT_TRUE(Contains(names_error("a\nb\nc\nd\nb\nf\ng\nh\ni\nj\n"),
                       "batches.meta.txt: line 5: the class name \"b\" is also on line 2; "
                       "expected 10 different names"));
  EXPECT_TRUE(Contains(names_error(std::string("a\nb\x01x\nc\n")),
                       "batches.meta.txt: line 2: the class name holds a control character (byte "
                       "1); expected one class name per line"));
  EXPECT_TRUE(Contains(names_error(std::string("a\n\nb\xff\n")),
                       "batches.meta.txt: line 3: the class name is not UTF-8 text"));
  // Overlong, surrogate and cut sequences are not UTF-8 either.
  for (const std::string& bad : {std::string("\xC0\xAF"), std::string("\xED\xA0\x80"),
                                 std::string("\xE2\x82"), std::string("\xF4\x90\x80\x80")}) {
    EXPECT_TRUE(Contains(names_error("x" + bad + "\n"), "line 1: the class name is not UTF-8"))
        << bad;
  }
  // A NUL inside a name (a string literal's own NUL would be one too).
  EXPECT_TRUE(Contains(names_error(std::string("a\0b\n", 4)), "control character (byte 0)"));
}

TEST_F(CifarTest, NamesRoundTrip) {
  cnn::write_cifar_names(path("batches.meta.txt"), kStandardNames);
  EXPECT_EQ(read_text(path("batches.meta.txt")),
            "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n");
  EXPECT_EQ(parse_names(read_text(path("batches.meta.txt"))), kStandardNames);
}

TEST_F(CifarTest, FolderIsRecognisedByItsFirstBatch) {
  EXPECT_FALSE(cnn::is_cifar10_folder(dir_));
  EXPECT_FALSE(cnn::is_cifar10_folder(path("no-such-folder")));
  cnn::write_cifar_batch(path("data_batch_1.bin"), sample_images(1, 0));
  EXPECT_TRUE(cnn::is_cifar10_folder(dir_));
  // A folder of that name is not the file.
  fs::create_directory(path("other"));
  fs::create_directory(path("other") / "data_batch_1.bin");
  EXPECT_FALSE(cnn::is_cifar10_folder(path("other")));
}

TEST_F(CifarTest, LoadsAFolder) {
  write_folder({2, 1, 3, 1, 2, 4}, /*meta=*/true);
  const cnn::CifarSplits splits = cnn::load_cifar10(dir_);
  EXPECT_TRUE(splits.names_from_meta);
  EXPECT_EQ(splits.train.class_names, kStandardNames);
  EXPECT_EQ(splits.test.class_names, kStandardNames);
  EXPECT_EQ(splits.train.image, (cnn::Shape{3, 32, 32}));
  EXPECT_EQ(splits.test.image, (cnn::Shape{3, 32, 32}));

  // The five batches in order.
  cnn::LabelledImages expected;
  for (std::size_t b = 0; b < 5; ++b) {
    const cnn::LabelledImages part = sample_images(std::vector<std::size_t>{2, 1, 3, 1, 2}[b], b);
    expected.pixels.insert(expected.pixels.end(), part.pixels.begin(), part.pixels.end());
    expected.labels.insert(expected.labels.end(), part.labels.begin(), part.labels.end());
  }
  EXPECT_EQ(splits.train.size(), 9u);
  EXPECT_EQ(splits.train.labels, expected.labels);
  EXPECT_TRUE(splits.train.pixels == expected.pixels);
  EXPECT_EQ(splits.test.size(), 4u);
  EXPECT_EQ(splits.test.pixels, sample_images(4, 5).pixels);
}

TEST_F(CifarTest, WithoutMetaTheClassesAreNumbered) {
  write_folder({1, 1, 1, 1, 1, 1}, /*meta=*/false);
  const cnn::CifarSplits splits = cnn::load_cifar10(dir_);
  EXPECT_FALSE(splits.names_from_meta);
  EXPECT_EQ(splits.train.class_names, cnn::numbered_class_names(10));
  EXPECT_EQ(splits.test.class_names, cnn::numbered_class_names(10));
  EXPECT_EQ(splits.train.size(), 5u);
}

TEST_F(CifarTest, MissingFilesAreNamedWithWhatTheFolderHolds) {
  for (const std::string missing : {"data_batch_1.bin", "data_batch_4.bin", "test_batch.bin"}) {
    SCOPED_TRACE(missing);
    write_folder({1, 1, 1, 1, 1, 1}, /*meta=*/true);
    fs::remove(path(missing));
    const std::string message = error_message<cnn::DataError>([&] { cnn::load_cifar10(dir_); });
    EXPECT_TRUE(Contains(message, path(missing).string() + ": no such file; a CIFAR-10 folder"));
    EXPECT_TRUE(Contains(message,
                         "holds data_batch_1.bin ... data_batch_5.bin, test_batch.bin "
                         "and batches.meta.txt"));
  }
  EXPECT_TRUE(
      Contains(error_message<cnn::DataError>([&] { cnn::load_cifar10(path("no-such-folder")); }),
               (path("no-such-folder") / "data_batch_1.bin").string() + ": no such file"));
  EXPECT_TRUE(
      Contains(error_message<cnn::DataError>([&] { cnn::load_cifar_batch(path("absent.bin")); }),
               path("absent.bin").string() + ": no such file"));
}

TEST_F(CifarTest, ABrokenFileInTheFolderIsNamed) {
  write_folder({1, 1, 1, 1, 1, 1}, /*meta=*/true);
  Bytes bytes = read_bytes(path("data_batch_3.bin"));
  bytes.pop_back();
  write_bytes(path("data_batch_3.bin"), bytes);
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] { cnn::load_cifar10(dir_); }),
                       path("data_batch_3.bin").string() +
                           ": 3072 bytes is not a whole number of records: record 1 is cut"));

  write_folder({1, 1, 1, 1, 1, 1}, /*meta=*/true);
  bytes = read_bytes(path("test_batch.bin"));
  bytes[0] = 12;
  write_bytes(path("test_batch.bin"), bytes);
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] { cnn::load_cifar10(dir_); }),
                       path("test_batch.bin").string() + ": record 1 (byte offset 0): label 12"));

  write_folder({1, 1, 1, 1, 1, 1}, /*meta=*/false);
  cnn::write_cifar_names(path("batches.meta.txt"), {"a", "b"});
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] { cnn::load_cifar10(dir_); }),
                       path("batches.meta.txt").string() + ": 2 class names; expected 10"));
}

TEST_F(CifarTest, WriterErrors) {
  cnn::LabelledImages images = sample_images(2, 0);
  images.labels[1] = 10;
  EXPECT_THROW(cnn::write_cifar_batch(path("a.bin"), images), std::invalid_argument);
  images = sample_images(2, 0);
  images.pixels.pop_back();
  EXPECT_THROW(cnn::write_cifar_batch(path("a.bin"), images), std::invalid_argument);
  images = sample_images(2, 0);
  images.image = cnn::Shape{1, 32, 96};
  EXPECT_THROW(cnn::write_cifar_batch(path("a.bin"), images), std::invalid_argument);
  EXPECT_FALSE(fs::exists(path("a.bin")));

  const fs::path no_folder = path("no-such-folder") / "data_batch_1.bin";
  EXPECT_TRUE(Contains(error_message<cnn::DataError>(
                           [&] { cnn::write_cifar_batch(no_folder, sample_images(1, 0)); }),
                       no_folder.string() + ": cannot write (no such file or directory)"));
  EXPECT_TRUE(Contains(
      error_message<cnn::DataError>([&] { cnn::write_cifar_names(no_folder, kStandardNames); }),
      no_folder.string() + ": cannot write (no such file or directory)"));
}

}  // namespace
