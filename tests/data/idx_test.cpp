#include "cnn/data/idx.hpp"

#include <gtest/gtest.h>

#include "assertions.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "temp_dir.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

using cnn::testing::Contains;
using cnn::testing::error_message;

void put_be32(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

// An image file's bytes, built by hand so broken headers can be written too.
Bytes image_file_bytes(std::uint32_t count, std::uint32_t rows, std::uint32_t cols,
                       std::size_t payload) {
  Bytes out;
  put_be32(out, 0x00000803);
  put_be32(out, count);
  put_be32(out, rows);
  put_be32(out, cols);
  for (std::size_t i = 0; i < payload; ++i) out.push_back(static_cast<std::uint8_t>(i * 31 + 7));
  return out;
}

Bytes label_file_bytes(std::uint32_t count, std::size_t payload) {
  Bytes out;
  put_be32(out, 0x00000801);
  put_be32(out, count);
  for (std::size_t i = 0; i < payload; ++i) out.push_back(static_cast<std::uint8_t>(i % 10));
  return out;
}

void write_bytes(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

Bytes read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The bytes of a gzip stream holding `data`, via zlib's own writer.
Bytes gzip_bytes(const fs::path& scratch, const Bytes& data) {
  gzFile file = gzopen(scratch.c_str(), "wb");
  EXPECT_NE(file, nullptr);
  if (file == nullptr) return {};
  EXPECT_EQ(gzwrite(file, data.data(), static_cast<unsigned>(data.size())),
            static_cast<int>(data.size()));
  EXPECT_EQ(gzclose(file), Z_OK);
  Bytes out = read_bytes(scratch);
  fs::remove(scratch);
  return out;
}

// 3 images of 5x7: not square, so swapped rows and cols would show.
cnn::IdxImages sample_images() {
  cnn::IdxImages images;
  images.count = 3;
  images.rows = 5;
  images.cols = 7;
  for (std::size_t i = 0; i < 3 * 5 * 7; ++i) {
    images.pixels.push_back(static_cast<std::uint8_t>((i * 37 + 11) % 256));
  }
  return images;
}

class IdxTest : public cnn::testing::TempDirTest {
 protected:
  IdxTest() : TempDirTest("cnn-idx-test") {}
};

TEST_F(IdxTest, ImagesRoundTripRawAndGzip) {
  const cnn::IdxImages images = sample_images();
  for (const bool gzip : {false, true}) {
    SCOPED_TRACE(gzip ? "gzip" : "raw");
    const fs::path file = path(gzip ? "images.gz" : "images");
    cnn::write_idx_images(file, images, gzip);

    const Bytes on_disk = read_bytes(file);
    ASSERT_GE(on_disk.size(), 2u);
    EXPECT_EQ(on_disk[0] == 0x1f && on_disk[1] == 0x8b, gzip) << "gzip signature";
    if (!gzip) {
      // Big-endian header, then the pixels as they are.
      Bytes expected = image_file_bytes(3, 5, 7, 0);
      expected.insert(expected.end(), images.pixels.begin(), images.pixels.end());
      EXPECT_EQ(on_disk, expected);
    }

    const cnn::IdxImages back = cnn::read_idx_images(file);
    EXPECT_EQ(back.count, 3u);
    EXPECT_EQ(back.rows, 5u);
    EXPECT_EQ(back.cols, 7u);
    EXPECT_EQ(back.pixels, images.pixels);
  }
}

TEST_F(IdxTest, LabelsRoundTripRawAndGzip) {
  const Bytes labels = {3, 1, 4, 1, 5, 9, 2, 6};
  for (const bool gzip : {false, true}) {
    SCOPED_TRACE(gzip ? "gzip" : "raw");
    const fs::path file = path(gzip ? "labels.gz" : "labels");
    cnn::write_idx_labels(file, labels, gzip);
    if (!gzip) {
      EXPECT_EQ(fs::file_size(file), 8u + labels.size());
    }
    EXPECT_EQ(cnn::read_idx_labels(file), labels);
  }
}

TEST_F(IdxTest, GzipIsDetectedByContentNotByName) {
  const cnn::IdxImages images = sample_images();
  // Compressed data under a plain name...
  cnn::write_idx_images(path("images-idx3-ubyte"), images, /*gzip=*/true);
  EXPECT_EQ(read_bytes(path("images-idx3-ubyte"))[0], 0x1f);
  EXPECT_EQ(cnn::read_idx_images(path("images-idx3-ubyte")).pixels, images.pixels);
  // ...and raw data under a .gz name.
  cnn::write_idx_images(path("images-idx3-ubyte.gz"), images, /*gzip=*/false);
  EXPECT_EQ(cnn::read_idx_images(path("images-idx3-ubyte.gz")).pixels, images.pixels);
}

TEST_F(IdxTest, ReadFileBytesJoinsConcatenatedGzipMembers) {
  const Bytes first = {1, 2, 3}, second = {4, 5};
  Bytes joined = gzip_bytes(path("scratch"), first);
  const Bytes tail = gzip_bytes(path("scratch"), second);
  joined.insert(joined.end(), tail.begin(), tail.end());
  write_bytes(path("joined"), joined);
  EXPECT_EQ(cnn::read_file_bytes(path("joined")), (Bytes{1, 2, 3, 4, 5}));
}

TEST_F(IdxTest, LargeGzipFileRoundTrips) {
  // Larger than the reader's growth step (16 MiB), so the output buffer has to grow.
  cnn::IdxImages images;
  images.count = 2;
  images.rows = 3000;
  images.cols = 3001;
  images.pixels.resize(images.count * images.rows * images.cols);
  // Varied enough to catch misplaced chunks, regular enough to compress fast.
  for (std::size_t i = 0; i < images.pixels.size(); ++i) {
    images.pixels[i] = static_cast<std::uint8_t>(i % 251 + i / 1000003);
  }
  cnn::write_idx_images(path("large.gz"), images, /*gzip=*/true);
  const cnn::IdxImages back = cnn::read_idx_images(path("large.gz"));
  EXPECT_EQ(back.rows, 3000u);
  EXPECT_EQ(back.cols, 3001u);
  EXPECT_TRUE(back.pixels == images.pixels);
}

TEST_F(IdxTest, MissingFileIsNamed) {
  const fs::path file = path("train-images-idx3-ubyte");
  const std::string message = error_message<cnn::DataError>([&] { cnn::read_idx_images(file); });
  EXPECT_TRUE(Contains(message, file.string() + ": no such file"));
  EXPECT_TRUE(
      Contains(error_message<cnn::DataError>([&] { cnn::read_idx_labels(file); }), "no such file"));
}

TEST_F(IdxTest, UnreadableFileIsNamed) {
  if (geteuid() == 0) {
    GTEST_SKIP() << "running as root: a file with mode 000 is still readable, so there is no "
                    "unreadable file to test with";
  }
  const fs::path file = path("labels");
  cnn::write_idx_labels(file, Bytes{1, 2}, false);
  fs::permissions(file, fs::perms::none);
  const std::string message = error_message<cnn::DataError>([&] { cnn::read_idx_labels(file); });
  EXPECT_TRUE(Contains(message, file.string() + ": cannot read (permission denied)"));
}

TEST_F(IdxTest, FolderIsNotAFile) {
  const std::string message = error_message<cnn::DataError>([&] { cnn::read_idx_images(dir_); });
  EXPECT_TRUE(Contains(message, dir_.string() + ": is a folder"));
}

TEST_F(IdxTest, HeaderTooShort) {
  const fs::path images = path("images");
  Bytes bytes = image_file_bytes(3, 5, 7, 0);
  bytes.resize(9);
  write_bytes(images, bytes);
  EXPECT_TRUE(Contains(
      error_message<cnn::DataError>([&] { cnn::read_idx_images(images); }),
      images.string() + ": header too short: 9 bytes, an IDX images file needs at least 16"));

  write_bytes(images, Bytes{0, 0});  // too short even for the magic number
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] { cnn::read_idx_images(images); }),
                       "header too short: 2 bytes"));

  const fs::path labels = path("labels");
  write_bytes(labels, Bytes{0, 0, 8, 1, 0, 0});
  EXPECT_TRUE(Contains(
      error_message<cnn::DataError>([&] { cnn::read_idx_labels(labels); }),
      labels.string() + ": header too short: 6 bytes, an IDX labels file needs at least 8"));

  write_bytes(labels, Bytes{});
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] { cnn::read_idx_labels(labels); }),
                       "header too short: 0 bytes"));
}

TEST_F(IdxTest, WrongMagicForImages) {
  // A label file handed over as images.
  const fs::path file = path("t10k-labels-idx1-ubyte");
  cnn::write_idx_labels(file, Bytes{1, 2, 3}, false);
  const std::string message = error_message<cnn::DataError>([&] { cnn::read_idx_images(file); });
  EXPECT_TRUE(Contains(message, file.string() +
                                    ": wrong magic number 0x00000801, expected 0x00000803 (IDX "
                                    "images of unsigned bytes)"));
  EXPECT_TRUE(Contains(message, "looks like an IDX label file"));

  // Something else entirely (here IDX float data).
  Bytes floats = image_file_bytes(1, 1, 1, 4);
  floats[2] = 0x0d;
  write_bytes(file, floats);
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] { cnn::read_idx_images(file); }),
                       "wrong magic number 0x00000D03, expected 0x00000803"));
}

TEST_F(IdxTest, WrongMagicForLabels) {
  const fs::path file = path("train-images-idx3-ubyte");
  cnn::write_idx_images(file, sample_images(), false);
  const std::string message = error_message<cnn::DataError>([&] { cnn::read_idx_labels(file); });
  EXPECT_TRUE(Contains(message, file.string() +
                                    ": wrong magic number 0x00000803, expected 0x00000801 (IDX "
                                    "labels of unsigned bytes)"));
  EXPECT_TRUE(Contains(message, "looks like an IDX image file"));
}

TEST_F(IdxTest, TruncatedData) {
  const fs::path images = path("images");
  write_bytes(images, image_file_bytes(3, 5, 7, 100));
  EXPECT_TRUE(Contains(
      error_message<cnn::DataError>([&] { cnn::read_idx_images(images); }),
      images.string() +
          ": truncated: header promises 3 images of 5x7 (105 bytes), file has 100 bytes of data"));

  const fs::path labels = path("labels");
  write_bytes(labels, label_file_bytes(10, 9));
  EXPECT_TRUE(
      Contains(error_message<cnn::DataError>([&] { cnn::read_idx_labels(labels); }),
               labels.string() +
                   ": truncated: header promises 10 labels (10 bytes), file has 9 bytes of data"));
}

TEST_F(IdxTest, TruncatedGzipData) {
  // The same check applies to the decompressed data of a complete gzip stream.
  const fs::path images = path("images.gz");
  write_bytes(images, gzip_bytes(path("scratch"), image_file_bytes(3, 5, 7, 104)));
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] { cnn::read_idx_images(images); }),
                       images.string() + ": truncated: header promises 3 images of 5x7 (105 "
                                         "bytes), file has 104 bytes of data"));
}

TEST_F(IdxTest, HugeDimensionsAreRejectedBeforeAllocating) {
  constexpr std::uint32_t kMax = std::numeric_limits<std::uint32_t>::max();
  const fs::path file = path("images");
  // The product of the three dimensions overflows 64 bits.
  write_bytes(file, image_file_bytes(kMax, kMax, kMax, 10));
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] { cnn::read_idx_images(file); }),
                       "truncated: header promises 4294967295 images of 4294967295x4294967295 "
                       "(more than 2^64 bytes), file has 10 bytes of data"));
  // This one fits in 64 bits but not in any memory.
  write_bytes(file, image_file_bytes(kMax, kMax, 1, 10));
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] { cnn::read_idx_images(file); }),
                       "truncated: header promises 4294967295 images of 4294967295x1 "
                       "(18446744065119617025 bytes), file has 10 bytes of data"));

  write_bytes(file, label_file_bytes(kMax, 3));
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] { cnn::read_idx_labels(file); }),
                       "truncated: header promises 4294967295 labels"));
}

TEST_F(IdxTest, TrailingBytes) {
  const fs::path images = path("images");
  write_bytes(images, image_file_bytes(3, 5, 7, 109));
  const std::string message = error_message<cnn::DataError>([&] { cnn::read_idx_images(images); });
  EXPECT_TRUE(Contains(message, images.string() + ": trailing data: 4 extra bytes"));
  EXPECT_TRUE(Contains(message, "header promises 3 images of 5x7 (105 bytes), file has 109"));

  const fs::path labels = path("labels");
  write_bytes(labels, label_file_bytes(2, 3));
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] { cnn::read_idx_labels(labels); }),
                       labels.string() + ": trailing data: 1 extra bytes"));
}

TEST_F(IdxTest, ZeroSizes) {
  const fs::path file = path("images");
  write_bytes(file, image_file_bytes(0, 5, 7, 0));
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] { cnn::read_idx_images(file); }),
                       file.string() + ": no images (count is 0)"));
  write_bytes(file, image_file_bytes(3, 0, 7, 0));
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] { cnn::read_idx_images(file); }),
                       file.string() + ": images have no rows (rows is 0)"));
  write_bytes(file, image_file_bytes(3, 5, 0, 0));
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] { cnn::read_idx_images(file); }),
                       file.string() + ": images have no columns (cols is 0)"));

  const fs::path labels = path("labels");
  write_bytes(labels, label_file_bytes(0, 0));
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] { cnn::read_idx_labels(labels); }),
                       labels.string() + ": no labels (count is 0)"));
}

TEST_F(IdxTest, CorruptGzip) {
  const Bytes good = gzip_bytes(path("scratch"), image_file_bytes(3, 5, 7, 105));
  ASSERT_GT(good.size(), 30u);
  const fs::path file = path("images.gz");

  // Cut short, as an interrupted download leaves it.
  write_bytes(file, Bytes(good.begin(), good.begin() + static_cast<long>(good.size() / 2)));
  std::string message = error_message<cnn::DataError>([&] { cnn::read_idx_images(file); });
  EXPECT_TRUE(Contains(message, file.string() + ": corrupt gzip data ("));
  EXPECT_TRUE(Contains(message, "truncated"));

  // Only the gzip header survives.
  write_bytes(file, Bytes(good.begin(), good.begin() + 10));
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] { cnn::read_file_bytes(file); }),
                       file.string() + ": corrupt gzip data ("));

  // A damaged checksum in the trailer.
  Bytes bad_crc = good;
  bad_crc[bad_crc.size() - 8] ^= 0xff;
  write_bytes(file, bad_crc);
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] { cnn::read_idx_images(file); }),
                       file.string() + ": corrupt gzip data (incorrect data check)"));

  // A gzip signature followed by junk.
  write_bytes(file, Bytes{0x1f, 0x8b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] { cnn::read_idx_images(file); }),
                       file.string() + ": corrupt gzip data ("));

  // Junk after a complete stream.
  Bytes trailing_junk = good;
  trailing_junk.push_back(0);
  trailing_junk.push_back(1);
  write_bytes(file, trailing_junk);
  EXPECT_TRUE(Contains(
      error_message<cnn::DataError>([&] { cnn::read_idx_images(file); }),
      file.string() + ": corrupt gzip data (2 bytes of garbage after the end of the gzip"));
}

TEST_F(IdxTest, WriteErrorsNameTheFile) {
  const fs::path file = path("no-such-folder") / "images";
  for (const bool gzip : {false, true}) {
    SCOPED_TRACE(gzip ? "gzip" : "raw");
    const std::string message =
        error_message<cnn::DataError>([&] { cnn::write_idx_images(file, sample_images(), gzip); });
    EXPECT_TRUE(Contains(message, file.string() + ": cannot write ("));
    EXPECT_TRUE(Contains(
        error_message<cnn::DataError>([&] { cnn::write_idx_labels(file, Bytes{1}, gzip); }),
        file.string() + ": cannot write (no such file or directory)"));
  }
}

TEST_F(IdxTest, WriterRejectsInconsistentImages) {
  cnn::IdxImages images = sample_images();
  images.pixels.pop_back();
  EXPECT_THROW(cnn::write_idx_images(path("images"), images, false), std::invalid_argument);
  EXPECT_FALSE(fs::exists(path("images")));
}

}  // namespace
