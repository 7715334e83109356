// Image reading (PNG, JPEG, PGM) with broken input for every format, and the MNIST-style
// preparation of drawings.
#include "cnn/data/image.hpp"

#include <gtest/gtest.h>

#include <zlib.h>
#include "assertions.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

const fs::path kDigits = fs::path(CNN_SOURCE_DIR) / "tests" / "fixtures" / "digits";

Bytes read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string error_of(const Bytes& bytes) {
  try {
    cnn::decode_image(bytes, "test.img");
  } catch (const cnn::ImageError& e) {
    return e.what();
  }
  return "(no error)";
}

using cnn::testing::Contains;

void put_be32(Bytes& bytes, std::size_t at, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<std::uint8_t>(value >> (24 - 8 * i));
}

// A PNG whose IHDR says width x height (CRC recomputed so that only the size is wrong).
Bytes png_with_size(std::uint32_t width, std::uint32_t height) {
  Bytes png = read_bytes(kDigits / "0-black-on-white-300x300.png");
  // Signature (8), IHDR length (4), "IHDR" (4), width at 16, height at 20, CRC at 29.
  put_be32(png, 16, width);
  put_be32(png, 20, height);
  put_be32(png, 29, static_cast<std::uint32_t>(crc32(0, png.data() + 12, 17)));
  return png;
}

// Offset of the height field of the first SOF marker of a JPEG (width follows it).
std::size_t jpeg_size_offset(const Bytes& jpeg) {
  for (std::size_t i = 2; i + 9 < jpeg.size(); ++i) {
    if (jpeg[i] == 0xff && (jpeg[i + 1] == 0xc0 || jpeg[i + 1] == 0xc2)) return i + 5;
  }
  ADD_FAILURE() << "no SOF marker";
  return 0;
}

// ---- every committed drawing decodes with its size -----------------------------------------

TEST(ImageTest, ReadsEveryFormatWithItsSize) {
  struct Case {
    const char* file;
    std::size_t width, height;
  };
  for (const Case& c :
       {Case{"0-black-on-white-300x300.png", 300, 300}, Case{"2-gray-paper-640x480.jpg", 640, 480},
        Case{"3-small-64x64.pgm", 64, 64}, Case{"6-ascii-90x120.pgm", 90, 120},
        Case{"7-transparent-background-500x500.png", 500, 500}}) {
    SCOPED_TRACE(c.file);
    const cnn::GrayImage image = cnn::read_image(kDigits / c.file);
    EXPECT_EQ(image.width, c.width);
    EXPECT_EQ(image.height, c.height);
    ASSERT_EQ(image.pixels.size(), c.width * c.height);
    // Dark ink on a light background: the corner is light, some pixel is dark.
    EXPECT_GT(image.at(0, 0), 200);
    EXPECT_LT(*std::min_element(image.pixels.begin(), image.pixels.end()), 80);
  }
}

TEST(ImageTest, ColourIsConvertedToGrayAndTransparencyToWhite) {
  // Red ink (200, 20, 20) has luminance about 0.3·200 + 0.59·20 + 0.11·20 ≈ 74 (sRGB).
  const cnn::GrayImage red = cnn::read_image(kDigits / "4-red-off-centre-400x400.png");
  const std::uint8_t darkest = *std::min_element(red.pixels.begin(), red.pixels.end());
  EXPECT_GT(darkest, 40);
  EXPECT_LT(darkest, 110);
  // Transparent background (0, 0, 0, alpha 0) is composited onto white paper, not black.
  const cnn::GrayImage clear = cnn::read_image(kDigits / "7-transparent-background-500x500.png");
  EXPECT_EQ(clear.at(0, 0), 255);
  EXPECT_LT(*std::min_element(clear.pixels.begin(), clear.pixels.end()), 60);
}

TEST(ImageTest, PgmBinaryAndTextAgreeAndScaleTheMaximum) {
  const Bytes binary = {'P', '5', '\n', '2', ' ', '1', '\n', '1', '0', '\n', 0, 10};
  const std::string text = "P2 # a comment\n2 1\n10\n0 5\n";
  const cnn::GrayImage a = cnn::decode_image(binary, "a.pgm");
  const cnn::GrayImage b = cnn::decode_image(Bytes(text.begin(), text.end()), "b.pgm");
  EXPECT_EQ(a.pixels, (std::vector<std::uint8_t>{0, 255}));
  EXPECT_EQ(b.pixels, (std::vector<std::uint8_t>{0, 128}));
  // 16-bit binary: two bytes per value, most significant first.
  const Bytes wide = {'P', '5', ' ', '1', ' ', '1', ' ', '6', '5', '5', '3', '5', '\n', 0x80, 0x00};
  EXPECT_EQ(cnn::decode_image(wide, "w.pgm").pixels, (std::vector<std::uint8_t>{128}));
}

TEST(ImageTest, WritePgmRoundTrips) {
  const fs::path path = fs::temp_directory_path() / ("cnn-image-test-" + std::to_string(getpid()));
  const cnn::GrayImage image{3, 2, {0, 1, 2, 253, 254, 255}};
  cnn::write_pgm(path, image);
  const cnn::GrayImage back = cnn::read_image(path);
  fs::remove(path);
  EXPECT_EQ(back.width, 3u);
  EXPECT_EQ(back.height, 2u);
  EXPECT_EQ(back.pixels, image.pixels);
}

// ---- broken input ------------------------------------------------------------------------------

TEST(ImageTest, MissingFileFolderAndEmptyFile) {
  EXPECT_THROW(
      {
        try {
          cnn::read_image("/nonexistent/digit.png");
        } catch (const cnn::ImageError& e) {
          EXPECT_TRUE(Contains(e.what(), "/nonexistent/digit.png: no such file"));
          throw;
        }
      },
      cnn::ImageError);
  EXPECT_THROW(cnn::read_image(kDigits), cnn::ImageError);
  EXPECT_TRUE(Contains(error_of({}), "test.img: empty file"));
}

TEST(ImageTest, UnknownSignature) {
  const std::string text = "GIF89a....";
  EXPECT_TRUE(Contains(error_of(Bytes(text.begin(), text.end())), "not a PNG, JPEG or PGM"));
  EXPECT_TRUE(Contains(error_of({'P', '6', ' ', '1', ' ', '1', ' ', '2', '5', '5', '\n', 0, 0, 0}),
                       "unknown signature"));
}

TEST(ImageTest, PngWrongSignatureAndCorruptHeader) {
  Bytes png = read_bytes(kDigits / "1-blue-ink-120x200.png");
  png[1] = 'X';  // no longer the PNG signature
  EXPECT_TRUE(Contains(error_of(png), "not a PNG, JPEG or PGM"));
  png = read_bytes(kDigits / "1-blue-ink-120x200.png");
  png[18] ^= 0x01;  // width changed without fixing the CRC
  EXPECT_TRUE(Contains(error_of(png), "test.img: not a valid PNG"));
}

TEST(ImageTest, PngEveryTruncationIsRejected) {
  const Bytes png = read_bytes(kDigits / "8-black-on-white-200x200.png");
  for (std::size_t size = 8; size < png.size(); size += std::max<std::size_t>(1, png.size() / 40)) {
    SCOPED_TRACE("truncated to " + std::to_string(size) + " bytes");
    const std::string message = error_of(Bytes(png.begin(), png.begin() + static_cast<long>(size)));
    EXPECT_TRUE(Contains(message, "PNG")) << message;
  }
}

TEST(ImageTest, PngZeroAndHugeSizes) {
  EXPECT_TRUE(Contains(error_of(png_with_size(0, 10)), "PNG"));
  const std::string huge = error_of(png_with_size(100000, 100000));
  // Rejected from the header, before pixel memory (40 GB) is allocated.
  EXPECT_TRUE(Contains(huge, "100000x100000 pixels, more than")) << huge;
  const std::string large = error_of(png_with_size(16385, 16));
  EXPECT_TRUE(Contains(large, "16385x16 pixels, more than the 16384 a side")) << large;
  const std::string area = error_of(png_with_size(16384, 16384));
  EXPECT_TRUE(Contains(area, "64 Mpixels")) << area;
}

TEST(ImageTest, JpegEveryTruncationIsRejected) {
  const Bytes jpeg = read_bytes(kDigits / "5-black-on-white-250x350.jpg");
  for (std::size_t size = 3; size < jpeg.size();
       size += std::max<std::size_t>(1, jpeg.size() / 40)) {
    SCOPED_TRACE("truncated to " + std::to_string(size) + " bytes");
    const std::string message =
        error_of(Bytes(jpeg.begin(), jpeg.begin() + static_cast<long>(size)));
    EXPECT_TRUE(Contains(message, "JPEG")) << message;
  }
}

TEST(ImageTest, JpegCorruptZeroAndHugeSizes) {
  Bytes jpeg = read_bytes(kDigits / "2-gray-paper-640x480.jpg");
  const std::size_t at = jpeg_size_offset(jpeg);
  Bytes zero = jpeg;
  zero[at] = zero[at + 1] = 0;
  EXPECT_TRUE(Contains(error_of(zero), "JPEG")) << error_of(zero);
  Bytes huge = jpeg;
  huge[at] = huge[at + 2] = 0xea;  // 60000 x 60000+
  huge[at + 1] = huge[at + 3] = 0x60;
  const std::string message = error_of(huge);
  EXPECT_TRUE(Contains(message, "more than the 16384 a side")) << message;
  Bytes garbage = jpeg;
  std::fill(garbage.begin() + 20, garbage.begin() + 200, 0x00);  // tables destroyed
  EXPECT_TRUE(Contains(error_of(garbage), "JPEG")) << error_of(garbage);
}

TEST(ImageTest, PgmBrokenHeadersAndData) {
  const auto pgm = [](const std::string& text) { return Bytes(text.begin(), text.end()); };
  EXPECT_TRUE(Contains(error_of(pgm("P5")), "truncated PGM header (no width)"));
  EXPECT_TRUE(Contains(error_of(pgm("P5 10")), "truncated PGM header (no height)"));
  EXPECT_TRUE(Contains(error_of(pgm("P5 x 10 255\n")), "width is not a number"));
  EXPECT_TRUE(Contains(error_of(pgm("P5 0 10 255\n")), "0x10 pixels (a size of zero)"));
  EXPECT_TRUE(Contains(error_of(pgm("P5 10 10 0\n")), "maximum value 0"));
  EXPECT_TRUE(Contains(error_of(pgm("P5 10 10 70000\n")), "maximum value 70000"));
  EXPECT_TRUE(Contains(error_of(pgm("P5 99999999 99999999 255\n")), "more than the 16384"));
  EXPECT_TRUE(Contains(error_of(pgm("P5 1234567890123 1 255\n")), "too many digits"));
  EXPECT_TRUE(Contains(error_of(pgm("P5 4 4 255\nabc")), "truncated PGM: 4x4 pixels need 16"));
  EXPECT_TRUE(Contains(error_of(pgm("P2 2 2 255\n1 2 3")), "truncated PGM: 3 of 4"));
  EXPECT_TRUE(Contains(error_of(pgm("P2 2 1 9\n1 10")), "pixel value 10 is above"));
  EXPECT_TRUE(Contains(error_of(pgm("P2 2 1 9\n1 x")), "pixel value is not a number"));
}

// ---- MNIST-style preparation -------------------------------------------------------------

// A light canvas with a dark filled rectangle at [x0, x1) x [y0, y1).
cnn::GrayImage canvas_with_block(std::size_t w, std::size_t h, std::size_t x0, std::size_t y0,
                                 std::size_t x1, std::size_t y1, std::uint8_t paper,
                                 std::uint8_t ink) {
  cnn::GrayImage image{w, h, std::vector<std::uint8_t>(w * h, paper)};
  for (std::size_t y = y0; y < y1; ++y) {
    for (std::size_t x = x0; x < x1; ++x) image.pixels[y * w + x] = ink;
  }
  return image;
}

struct Moments {
  double mass = 0, cx = 0, cy = 0;
  std::size_t left = 28, right = 0, top = 28, bottom = 0;
};

Moments moments(const cnn::GrayImage& image) {
  Moments m;
  for (std::size_t y = 0; y < image.height; ++y) {
    for (std::size_t x = 0; x < image.width; ++x) {
      const double v = image.at(x, y);
      m.mass += v;
      m.cx += v * (x + 0.5);
      m.cy += v * (y + 0.5);
      if (v > 0) {
        m.left = std::min(m.left, x);
        m.right = std::max(m.right, x);
        m.top = std::min(m.top, y);
        m.bottom = std::max(m.bottom, y);
      }
    }
  }
  m.cx /= m.mass;
  m.cy /= m.mass;
  return m;
}

TEST(PrepareDigitTest, DarkOnLightBecomesAWhiteDigitFittingTwentyPixelsCentredByMass) {
  // A tall block (aspect 1:2) far off-centre on a 300x200 light-gray canvas.
  const cnn::GrayImage drawing = canvas_with_block(300, 200, 220, 20, 260, 100, 230, 10);
  const cnn::GrayImage digit = cnn::prepare_digit(drawing);
  ASSERT_EQ(digit.width, 28u);
  ASSERT_EQ(digit.height, 28u);
  const Moments m = moments(digit);
  EXPECT_EQ(m.bottom - m.top + 1, 20u);  // the longer side fits 20 pixels
  EXPECT_EQ(m.right - m.left + 1, 10u);  // aspect ratio kept
  EXPECT_NEAR(m.cx, 14.0, 0.5);          // centre of mass in the middle
  EXPECT_NEAR(m.cy, 14.0, 0.5);
  EXPECT_EQ(digit.at(0, 0), 0);                                                 // background black
  EXPECT_EQ(*std::max_element(digit.pixels.begin(), digit.pixels.end()), 255);  // ink white
}

TEST(PrepareDigitTest, LightOnDarkIsNotInvertedAndSmallImagesAreEnlarged) {
  const cnn::GrayImage drawing = canvas_with_block(12, 12, 4, 2, 8, 10, 0, 200);
  const cnn::GrayImage digit = cnn::prepare_digit(drawing);
  const Moments m = moments(digit);
  EXPECT_EQ(digit.at(0, 0), 0);
  EXPECT_EQ(digit.at(14, 14), 255);
  EXPECT_EQ(m.bottom - m.top + 1, 20u);
  EXPECT_NEAR(m.cx, 14.0, 0.5);
}

TEST(PrepareDigitTest, CentreOfMassNotBoundingBox) {
  // An L shape: heavy bottom bar, so the mass centre is below the box centre; after preparation
  // the mass centre is at 14 and the box is therefore shifted up.
  cnn::GrayImage drawing = canvas_with_block(100, 100, 10, 10, 20, 90, 255, 0);
  for (std::size_t y = 70; y < 90; ++y) {
    for (std::size_t x = 10; x < 90; ++x) drawing.pixels[y * 100 + x] = 0;
  }
  const Moments m = moments(cnn::prepare_digit(drawing));
  EXPECT_NEAR(m.cy, 14.0, 0.5);
  EXPECT_LT((m.top + m.bottom) / 2.0, 13.5);
}

TEST(PrepareDigitTest, BlankImageIsRejected) {
  const cnn::GrayImage blank{50, 40, std::vector<std::uint8_t>(50 * 40, 250)};
  try {
    cnn::prepare_digit(blank, "blank.png");
    FAIL() << "no error";
  } catch (const cnn::ImageError& e) {
    EXPECT_TRUE(Contains(e.what(), "blank.png: no digit found"));
  }
}

}  // namespace
