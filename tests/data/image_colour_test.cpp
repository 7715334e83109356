// Reading images with their colour (decode_image_natural): every PNG colour type and bit depth,
// grey, colour and CMYK JPEGs, PGM/PPM, the EXIF orientation, the grey-or-colour rule; writing
// PNG; convert_channels and resize_image. The test files are written here with libpng and
// libjpeg, so that each case is exactly the colour type it claims to be.
#include <gtest/gtest.h>
#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

#include <algorithm>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include "assertions.hpp"
#include "cnn/data/image.hpp"

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;
using cnn::Image;
using cnn::ImageError;
using cnn::testing::Contains;
using cnn::testing::error_message;

// ---- writing test files -------------------------------------------------------------------

struct PngSpec {
  std::uint32_t width = 0, height = 0;
  int bit_depth = 8;
  int colour_type = PNG_COLOR_TYPE_RGB;
  std::vector<png_color> palette{};
  std::vector<std::uint8_t> palette_alpha{};  // tRNS for a palette image
  Bytes exif{};                               // eXIf chunk (a TIFF structure), when not empty
  bool interlaced = false;                    // Adam7
  Bytes rows{};                               // all rows, as libpng takes them (16-bit big-endian)
};

void png_append(png_structp png, png_bytep data, png_size_t size) {
  auto* out = static_cast<Bytes*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + size);
}

// A PNG file written with libpng's full API.
Bytes write_test_png(const PngSpec& spec) {
  Bytes out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png)) != 0) {
    png_destroy_write_struct(&png, &info);
    ADD_FAILURE() << "libpng could not write the test file";
    return {};
  }
  png_set_write_fn(png, &out, png_append, nullptr);
  png_set_IHDR(png, info, spec.width, spec.height, spec.bit_depth, spec.colour_type,
               spec.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!spec.palette.empty()) {
    png_set_PLTE(png, info, spec.palette.data(), static_cast<int>(spec.palette.size()));
  }
  if (!spec.palette_alpha.empty()) {
    png_set_tRNS(png, info, spec.palette_alpha.data(), static_cast<int>(spec.palette_alpha.size()),
                 nullptr);
  }
  Bytes exif = spec.exif;
  if (!exif.empty()) png_set_eXIf_1(png, info, static_cast<png_uint_32>(exif.size()), exif.data());
  png_write_info(png, info);
  const std::size_t row_bytes = spec.rows.size() / spec.height;
  const int passes = png_set_interlace_handling(png);
  for (int pass = 0; pass < passes; ++pass) {
    for (std::uint32_t y = 0; y < spec.height; ++y) {
      png_write_row(png, spec.rows.data() + y * row_bytes);
    }
  }
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return out;
}

// A JPEG written with libjpeg at quality 100 from interleaved samples of `space` (JCS_GRAYSCALE,
// JCS_RGB or JCS_CMYK). `app1` (when not empty) is written as an APP1 segment; `adobe` false
// leaves out the Adobe segment libjpeg writes for CMYK; `ycck` stores CMYK as YCCK (Photoshop's
// usual CMYK JPEG).
Bytes write_test_jpeg(std::size_t width, std::size_t height, J_COLOR_SPACE space,
                      const Bytes& samples, const Bytes& app1 = {}, bool adobe = true,
                      bool ycck = false) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr errors;
  cinfo.err = jpeg_std_error(&errors);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = static_cast<JDIMENSION>(width);
  cinfo.image_height = static_cast<JDIMENSION>(height);
  cinfo.input_components = space == JCS_GRAYSCALE ? 1 : space == JCS_CMYK ? 4 : 3;
  cinfo.in_color_space = space;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 100, TRUE);
  if (space == JCS_CMYK) {
    jpeg_set_colorspace(&cinfo, ycck ? JCS_YCCK : JCS_CMYK);
    cinfo.write_Adobe_marker = adobe ? TRUE : FALSE;
  }
  // No chroma subsampling, so that flat colour blocks stay within a few levels.
  for (int c = 0; c < cinfo.num_components; ++c) {
    cinfo.comp_info[c].h_samp_factor = 1;
    cinfo.comp_info[c].v_samp_factor = 1;
  }
  jpeg_start_compress(&cinfo, TRUE);
  if (!app1.empty()) {
    jpeg_write_marker(&cinfo, JPEG_APP0 + 1, app1.data(), static_cast<unsigned>(app1.size()));
  }
  const std::size_t row_bytes = width * static_cast<std::size_t>(cinfo.input_components);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<std::uint8_t*>(samples.data()) + cinfo.next_scanline * row_bytes;
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  Bytes out(buffer, buffer + size);
  std::free(buffer);
  return out;
}

// A TIFF structure holding IFD0 with one entry, Orientation (tag 0x0112, SHORT) = value; big
// ("MM") or little ("II") endian.
Bytes tiff_with_orientation(int value, bool big_endian = true) {
  const auto u16 = [&](Bytes& b, unsigned v) {
    if (big_endian) {
      b.push_back(static_cast<std::uint8_t>(v >> 8));
      b.push_back(static_cast<std::uint8_t>(v));
    } else {
      b.push_back(static_cast<std::uint8_t>(v));
      b.push_back(static_cast<std::uint8_t>(v >> 8));
    }
  };
  const auto u32 = [&](Bytes& b, unsigned v) {
    if (big_endian) {
      u16(b, v >> 16);
      u16(b, v & 0xffff);
    } else {
      u16(b, v & 0xffff);
      u16(b, v >> 16);
    }
  };
  Bytes b = big_endian ? Bytes{'M', 'M'} : Bytes{'I', 'I'};
  u16(b, 42);
  u32(b, 8);  // IFD0 right after the header
  u16(b, 1);  // one entry
  u16(b, 0x0112);
  u16(b, 3);  // SHORT
  u32(b, 1);  // one value
  u16(b, static_cast<unsigned>(value));
  u16(b, 0);  // padding of the 4-byte value field
  u32(b, 0);  // no next IFD
  return b;
}

Bytes exif_app1(int orientation, bool big_endian = true) {
  Bytes block = {'E', 'x', 'i', 'f', 0, 0};
  const Bytes tiff = tiff_with_orientation(orientation, big_endian);
  block.insert(block.end(), tiff.begin(), tiff.end());
  return block;
}

Image decode(const Bytes& bytes) {
  return cnn::decode_image_natural(bytes, "test.img");
}

std::string natural_error_of(const Bytes& bytes) {
  return error_message<ImageError>([&] { decode(bytes); });
}

// A temporary folder removed at the end of the test.
class TempDir {
 public:
  TempDir()
      : path_(fs::temp_directory_path() /
              ("cnn_image_colour_test_" + std::to_string(::getpid()) + "_" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A 3-channel test image whose every pixel differs: R = 10x, G = 20y, B = 255 - 5(x + y).
Image colour_pattern(std::size_t height, std::size_t width) {
  Image image{3, height, width, Bytes(3 * height * width)};
  for (std::size_t y = 0; y < height; ++y) {
    for (std::size_t x = 0; x < width; ++x) {
      image.pixels[(0 * height + y) * width + x] = static_cast<std::uint8_t>(10 * x);
      image.pixels[(1 * height + y) * width + x] = static_cast<std::uint8_t>(20 * y);
      image.pixels[(2 * height + y) * width + x] = static_cast<std::uint8_t>(255 - 5 * (x + y));
    }
  }
  return image;
}

// Interleaved RGB of a planar 3-channel image.
Bytes interleave(const Image& image) {
  const std::size_t count = image.height * image.width;
  Bytes out(image.channels * count);
  for (std::size_t c = 0; c < image.channels; ++c) {
    for (std::size_t i = 0; i < count; ++i)
      out[i * image.channels + c] = image.pixels[c * count + i];
  }
  return out;
}

// ---- write_png round trips --------------------------------------------------------------

TEST(WritePng, ColourRoundTripIsExact) {
  TempDir dir;
  const Image image = colour_pattern(7, 5);
  cnn::write_png(dir.path() / "colour.png", image);
  const Image back = cnn::read_image_natural(dir.path() / "colour.png");
  EXPECT_EQ(back.channels, 3u);
  EXPECT_EQ(back.height, 7u);
  EXPECT_EQ(back.width, 5u);
  EXPECT_EQ(back.pixels, image.pixels);
  EXPECT_FALSE(fs::exists(dir.path() / ("colour.png.tmp-" + std::to_string(::getpid()))));
}

TEST(WritePng, GreyRoundTripIsExactAndReadsAsGreyToo) {
  TempDir dir;
  Image image{1, 3, 4, {}};
  for (int i = 0; i < 12; ++i) image.pixels.push_back(static_cast<std::uint8_t>(i * 21));
  cnn::write_png(dir.path() / "grey.png", image);
  const Image back = cnn::read_image_natural(dir.path() / "grey.png");
  EXPECT_EQ(back.channels, 1u);
  EXPECT_EQ(back.height, 3u);
  EXPECT_EQ(back.width, 4u);
  EXPECT_EQ(back.pixels, image.pixels);
  const cnn::GrayImage grey = cnn::read_image(dir.path() / "grey.png");
  EXPECT_EQ(grey.pixels, image.pixels);
}

TEST(WritePng, ReplacesAnExistingFile) {
  TempDir dir;
  cnn::write_png(dir.path() / "a.png", colour_pattern(2, 2));
  const Image grey{1, 1, 1, {77}};
  cnn::write_png(dir.path() / "a.png", grey);
  EXPECT_EQ(cnn::read_image_natural(dir.path() / "a.png").pixels, Bytes{77});
}

TEST(WritePng, RefusesAMalformedImageAndAMissingFolder) {
  TempDir dir;
  EXPECT_THROW(cnn::write_png(dir.path() / "x.png", Image{2, 1, 1, {1, 2}}), std::invalid_argument);
  EXPECT_THROW(cnn::write_png(dir.path() / "x.png", Image{3, 2, 2, {1, 2, 3}}),
               std::invalid_argument);
  const std::string message = error_message<ImageError>([&] {
    cnn::write_png(dir.path() / "no-such-folder" / "x.png", Image{1, 1, 1, {0}});
  });
  EXPECT_TRUE(Contains(message, "x.png"));
}

// ---- PNG colour types and the grey-or-colour rule ---------------------------------------------

TEST(DecodeNatural, RgbPngWithOnlyGreyPixelsHasOneChannel) {
  PngSpec spec{.width = 3, .height = 2, .rows = {}};
  for (std::uint8_t v : {0, 50, 100, 150, 200, 255}) spec.rows.insert(spec.rows.end(), {v, v, v});
  const Image image = decode(write_test_png(spec));
  EXPECT_EQ(image.channels, 1u);
  EXPECT_EQ(image.pixels, (Bytes{0, 50, 100, 150, 200, 255}));
}

TEST(DecodeNatural, OneColouredPixelMakesThreeChannels) {
  PngSpec spec{.width = 3, .height = 2, .rows = {}};
  for (std::uint8_t v : {0, 50, 100, 150, 200, 255}) spec.rows.insert(spec.rows.end(), {v, v, v});
  spec.rows[3 * 4 + 1] = 201;  // pixel 4: (200, 201, 200)
  const Image image = decode(write_test_png(spec));
  ASSERT_EQ(image.channels, 3u);
  EXPECT_EQ(image.at(0, 1, 1), 200);
  EXPECT_EQ(image.at(1, 1, 1), 201);
  EXPECT_EQ(image.at(2, 1, 1), 200);
  EXPECT_EQ(image.at(1, 0, 2), 100);
}

TEST(DecodeNatural, PalettePngIsExpanded) {
  PngSpec spec{.width = 2, .height = 2, .bit_depth = 8, .colour_type = PNG_COLOR_TYPE_PALETTE};
  spec.palette = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {9, 9, 9}};
  spec.rows = {0, 1, 2, 3};
  const Image image = decode(write_test_png(spec));
  ASSERT_EQ(image.channels, 3u);
  EXPECT_EQ(image.pixels, (Bytes{255, 0, 0, 9, 0, 255, 0, 9, 0, 0, 255, 9}));
}

TEST(DecodeNatural, GreyPalettePngHasOneChannel) {
  PngSpec spec{.width = 4, .height = 1, .bit_depth = 2, .colour_type = PNG_COLOR_TYPE_PALETTE};
  spec.palette = {{0, 0, 0}, {80, 80, 80}, {160, 160, 160}, {255, 255, 255}};
  spec.rows = {0b00011011};  // indices 0, 1, 2, 3
  const Image image = decode(write_test_png(spec));
  EXPECT_EQ(image.channels, 1u);
  EXPECT_EQ(image.pixels, (Bytes{0, 80, 160, 255}));
}

TEST(DecodeNatural, PaletteTransparencyIsCompositedOntoWhite) {
  PngSpec spec{.width = 2, .height = 1, .bit_depth = 8, .colour_type = PNG_COLOR_TYPE_PALETTE};
  spec.palette = {{255, 0, 0}, {0, 0, 255}};
  spec.palette_alpha = {0, 255};  // red fully transparent, blue opaque
  spec.rows = {0, 1};
  const Image image = decode(write_test_png(spec));
  ASSERT_EQ(image.channels, 3u);
  EXPECT_EQ(image.pixels, (Bytes{255, 0, 255, 0, 255, 255}));
}

TEST(DecodeNatural, SixteenBitSamplesAreRoundedToEight) {
  PngSpec spec{.width = 2, .height = 1, .bit_depth = 16, .colour_type = PNG_COLOR_TYPE_RGB};
  // (0xffff, 0x8080, 0x0000) and (0x1234, 0x0101, 0xfefe): x/257 rounded.
  spec.rows = {0xff, 0xff, 0x80, 0x80, 0x00, 0x00, 0x12, 0x34, 0x01, 0x01, 0xfe, 0xfe};
  const Image image = decode(write_test_png(spec));
  ASSERT_EQ(image.channels, 3u);
  EXPECT_EQ(image.pixels, (Bytes{255, 0x12, 0x80, 1, 0, 0xfe}));
}

TEST(DecodeNatural, SixteenBitGreyHasOneChannel) {
  PngSpec spec{.width = 2, .height = 1, .bit_depth = 16, .colour_type = PNG_COLOR_TYPE_GRAY};
  spec.rows = {0x00, 0x00, 0xc8, 0xc8};
  const Image image = decode(write_test_png(spec));
  EXPECT_EQ(image.channels, 1u);
  EXPECT_EQ(image.pixels, (Bytes{0, 0xc8}));
}

TEST(DecodeNatural, GreyAlphaIsCompositedOntoWhite) {
  PngSpec spec{.width = 3, .height = 1, .bit_depth = 8, .colour_type = PNG_COLOR_TYPE_GRAY_ALPHA};
  spec.rows = {0, 255, 0, 0, 0, 128};  // opaque black, transparent black, half black
  const Image image = decode(write_test_png(spec));
  EXPECT_EQ(image.channels, 1u);
  EXPECT_EQ(image.pixels, (Bytes{0, 255, 127}));
  // The grey reader composites the same way.
  EXPECT_EQ(cnn::decode_image(write_test_png(spec), "test.png").pixels, image.pixels);
}

TEST(DecodeNatural, RgbaIsCompositedOntoWhite) {
  PngSpec spec{.width = 3, .height = 1, .bit_depth = 8, .colour_type = PNG_COLOR_TYPE_RGB_ALPHA};
  spec.rows = {200, 0, 0, 255, 0, 0, 200, 0, 0, 0, 0, 128};
  const Image image = decode(write_test_png(spec));
  ASSERT_EQ(image.channels, 3u);
  // Opaque red, fully transparent blue (white), half-transparent black (mid grey).
  EXPECT_EQ(image.pixels, (Bytes{200, 255, 127, 0, 255, 127, 0, 255, 127}));
}

TEST(DecodeNatural, FullyTransparentColourIsGrey) {
  PngSpec spec{.width = 2, .height = 1, .bit_depth = 8, .colour_type = PNG_COLOR_TYPE_RGB_ALPHA};
  spec.rows = {255, 0, 0, 0, 30, 30, 30, 255};
  const Image image = decode(write_test_png(spec));
  EXPECT_EQ(image.channels, 1u);
  EXPECT_EQ(image.pixels, (Bytes{255, 30}));
}

TEST(DecodeNatural, InterlacedPngIsDeinterlaced) {
  PngSpec spec{.width = 9, .height = 7, .interlaced = true};
  const Image pattern = colour_pattern(7, 9);
  spec.rows = interleave(pattern);
  const Image image = decode(write_test_png(spec));
  EXPECT_EQ(image.pixels, pattern.pixels);
}

TEST(DecodeNatural, GreyFixturesMatchTheGreyReader) {
  const fs::path digits = fs::path(CNN_SOURCE_DIR) / "tests" / "fixtures" / "digits";
  for (const char* name : {"0-black-on-white-300x300.png", "3-small-64x64.pgm",
                           "6-ascii-90x120.pgm", "8-black-on-white-200x200.png"}) {
    const Image natural = cnn::read_image_natural(digits / name);
    const cnn::GrayImage grey = cnn::read_image(digits / name);
    if (natural.channels == 1) {
      EXPECT_EQ(natural.pixels, grey.pixels) << name;
    }
    EXPECT_EQ(natural.width, grey.width) << name;
    EXPECT_EQ(natural.height, grey.height) << name;
  }
}

// ---- JPEG ---------------------------------------------------------------------------------

// The largest difference between two equally long byte vectors.
int max_difference(const Bytes& a, const Bytes& b) {
  int worst = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    worst = std::max(worst, std::abs(int{a[i]} - int{b[i]}));
  }
  return worst;
}

// Flat 8x8 blocks, so that JPEG at quality 100 keeps them within a few levels.
Image colour_blocks() {
  Image image{3, 16, 16, Bytes(3 * 16 * 16)};
  const std::uint8_t colours[4][3] = {{220, 30, 30}, {30, 200, 40}, {20, 40, 210}, {240, 240, 20}};
  for (std::size_t y = 0; y < 16; ++y) {
    for (std::size_t x = 0; x < 16; ++x) {
      const auto* colour = colours[(y / 8) * 2 + x / 8];
      for (std::size_t c = 0; c < 3; ++c) image.pixels[(c * 16 + y) * 16 + x] = colour[c];
    }
  }
  return image;
}

TEST(DecodeNaturalJpeg, GreyJpegHasOneChannel) {
  Bytes samples(16 * 8);
  for (std::size_t i = 0; i < samples.size(); ++i) samples[i] = i < 64 ? 40 : 210;
  const Image image = decode(write_test_jpeg(8, 16, JCS_GRAYSCALE, samples));
  EXPECT_EQ(image.channels, 1u);
  EXPECT_EQ(image.width, 8u);
  EXPECT_EQ(image.height, 16u);
  EXPECT_LE(max_difference(image.pixels, samples), 2);
}

TEST(DecodeNaturalJpeg, RgbJpegKeepsItsColours) {
  const Image original = colour_blocks();
  const Image image = decode(write_test_jpeg(16, 16, JCS_RGB, interleave(original)));
  ASSERT_EQ(image.channels, 3u);
  EXPECT_LE(max_difference(image.pixels, original.pixels), 6);
}

TEST(DecodeNaturalJpeg, AdobeCmykIsInverted) {
  // Photoshop's convention: 255 means no ink. Stored inverted, with the Adobe segment libjpeg
  // writes for CMYK.
  const Image original = colour_blocks();
  Bytes cmyk;
  for (std::size_t i = 0; i < 16 * 16; ++i) {
    // No black ink (K = 0, stored as 255); C, M, Y = 255 - R, G, B, stored inverted = R, G, B.
    for (std::size_t c = 0; c < 3; ++c) cmyk.push_back(original.pixels[c * 256 + i]);
    cmyk.push_back(255);
  }
  const Image image = decode(write_test_jpeg(16, 16, JCS_CMYK, cmyk));
  ASSERT_EQ(image.channels, 3u);
  EXPECT_LE(max_difference(image.pixels, original.pixels), 6);
}

TEST(DecodeNaturalJpeg, AdobeYcckIsConvertedLikeCmyk) {
  const Image original = colour_blocks();
  Bytes cmyk;
  for (std::size_t i = 0; i < 16 * 16; ++i) {
    for (std::size_t c = 0; c < 3; ++c) cmyk.push_back(original.pixels[c * 256 + i]);
    cmyk.push_back(255);
  }
  const Bytes jpeg = write_test_jpeg(16, 16, JCS_CMYK, cmyk, {}, /*adobe=*/true, /*ycck=*/true);
  const Image image = decode(jpeg);
  ASSERT_EQ(image.channels, 3u);
  EXPECT_LE(max_difference(image.pixels, original.pixels), 6);
}

TEST(DecodeNaturalJpeg, CmykWithoutAdobeSegmentIsInkAmounts) {
  const Image original = colour_blocks();
  Bytes cmyk;
  for (std::size_t i = 0; i < 16 * 16; ++i) {
    for (std::size_t c = 0; c < 3; ++c) cmyk.push_back(255 - original.pixels[c * 256 + i]);
    cmyk.push_back(0);
  }
  const Image image = decode(write_test_jpeg(16, 16, JCS_CMYK, cmyk, {}, /*adobe=*/false));
  ASSERT_EQ(image.channels, 3u);
  EXPECT_LE(max_difference(image.pixels, original.pixels), 6);
}

TEST(DecodeNaturalJpeg, CmykBlackInkDarkens) {
  // Half black ink over no colour ink, Adobe-inverted: K stored as 127 -> grey 127.
  const Bytes cmyk(8 * 8 * 4, 255);
  Bytes half = cmyk;
  for (std::size_t i = 3; i < half.size(); i += 4) half[i] = 127;
  const Image image = decode(write_test_jpeg(8, 8, JCS_CMYK, half));
  for (const std::uint8_t v : image.pixels) EXPECT_NEAR(v, 127, 3);
  // The grey reader reads a CMYK JPEG too (it cannot through libjpeg alone).
  const cnn::GrayImage grey = cnn::decode_image(write_test_jpeg(8, 8, JCS_CMYK, half), "c.jpg");
  EXPECT_EQ(grey.width, 8u);
  for (const std::uint8_t v : grey.pixels) EXPECT_NEAR(v, 127, 3);
}

// ---- EXIF orientation ---------------------------------------------------------------------

// A grey 16 wide, 8 high JPEG, black in its top-left 8x8 block and white elsewhere.
Bytes marked_jpeg(const Bytes& app1) {
  Bytes samples(16 * 8, 255);
  for (std::size_t y = 0; y < 8; ++y) {
    for (std::size_t x = 0; x < 8; ++x) samples[y * 16 + x] = 0;
  }
  return write_test_jpeg(16, 8, JCS_GRAYSCALE, samples, app1);
}

// Where the black block ended up: its centre, in the image's coordinates, rounded down to blocks.
struct Block {
  std::size_t x, y;
  bool operator==(const Block&) const = default;
};
Block dark_block(const Image& image) {
  // The centres of the 8x8 blocks; exactly one is dark.
  Block found{99, 99};
  for (std::size_t by = 0; by < image.height / 8; ++by) {
    for (std::size_t bx = 0; bx < image.width / 8; ++bx) {
      if (image.at(0, by * 8 + 4, bx * 8 + 4) < 60) found = {bx, by};
    }
  }
  return found;
}

TEST(ExifOrientation, JpegWithoutExifIsAsStored) {
  const Image image = decode(marked_jpeg({}));
  EXPECT_EQ(image.width, 16u);
  EXPECT_EQ(image.height, 8u);
  EXPECT_EQ(dark_block(image), (Block{0, 0}));
}

TEST(ExifOrientation, JpegOrientationsTurnThePixels) {
  struct Case {
    int orientation;
    std::size_t width, height;
    Block dark;
  };
  // Stored 16x8, dark at the top left. 3: turned 180 (bottom right); 6: turned 90 clockwise (the
  // top-left goes to the top right); 8: 90 counter-clockwise (to the bottom left); 2: mirrored;
  // 4: flipped; 5: transposed (stays top-left); 7: transverse (bottom right).
  for (const Case& c : {Case{1, 16, 8, {0, 0}}, Case{2, 16, 8, {1, 0}}, Case{3, 16, 8, {1, 0}},
                        Case{4, 16, 8, {0, 0}}, Case{5, 8, 16, {0, 0}}, Case{6, 8, 16, {0, 0}},
                        Case{7, 8, 16, {0, 1}}, Case{8, 8, 16, {0, 1}}}) {
    for (const bool big_endian : {true, false}) {
      const Image image = decode(marked_jpeg(exif_app1(c.orientation, big_endian)));
      EXPECT_EQ(image.width, c.width) << "orientation " << c.orientation;
      EXPECT_EQ(image.height, c.height) << "orientation " << c.orientation;
      EXPECT_EQ(dark_block(image), c.dark) << "orientation " << c.orientation;
    }
  }
}

TEST(ExifOrientation, GreyReaderAppliesItToo) {
  const cnn::GrayImage image = cnn::decode_image(marked_jpeg(exif_app1(6)), "photo.jpg");
  EXPECT_EQ(image.width, 8u);
  EXPECT_EQ(image.height, 16u);
  EXPECT_LT(image.at(4, 4), 60);  // turned 90 clockwise: the dark block is at the top
  EXPECT_GT(image.at(4, 12), 200);
}

TEST(ExifOrientation, BrokenOrMissingTagIsIgnored) {
  for (const Bytes& app1 : {exif_app1(0), exif_app1(9), exif_app1(0xffff),
                            Bytes{'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 42, 0xff, 0xff, 0, 0},
                            Bytes{'E', 'x', 'i', 'f', 0, 0}, Bytes{'h', 'e', 'l', 'l', 'o'}}) {
    const Image image = decode(marked_jpeg(app1));
    EXPECT_EQ(image.width, 16u);
    EXPECT_EQ(dark_block(image), (Block{0, 0}));
  }
}

// A 3 wide, 2 high grey PNG with pixel values 1..6, with an eXIf chunk for `orientation`.
Bytes png_with_orientation(int orientation) {
  PngSpec spec{.width = 3, .height = 2, .bit_depth = 8, .colour_type = PNG_COLOR_TYPE_GRAY};
  spec.rows = {1, 2, 3, 4, 5, 6};
  spec.exif = tiff_with_orientation(orientation);
  return write_test_png(spec);
}

TEST(ExifOrientation, PngExifChunkIsApplied) {
  // Stored:  1 2 3      3: 6 5 4      6 (90 clockwise): 4 1      8: 3 6      5: 1 4
  //          4 5 6         3 2 1                        5 2         2 5         2 5
  //                                                     6 3         1 4         3 6
  const Image turned_3 = decode(png_with_orientation(3));
  EXPECT_EQ(turned_3.pixels, (Bytes{6, 5, 4, 3, 2, 1}));
  const Image turned_6 = decode(png_with_orientation(6));
  EXPECT_EQ(turned_6.width, 2u);
  EXPECT_EQ(turned_6.height, 3u);
  EXPECT_EQ(turned_6.pixels, (Bytes{4, 1, 5, 2, 6, 3}));
  EXPECT_EQ(decode(png_with_orientation(8)).pixels, (Bytes{3, 6, 2, 5, 1, 4}));
  EXPECT_EQ(decode(png_with_orientation(5)).pixels, (Bytes{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(decode(png_with_orientation(7)).pixels, (Bytes{6, 3, 5, 2, 4, 1}));
  EXPECT_EQ(decode(png_with_orientation(2)).pixels, (Bytes{3, 2, 1, 6, 5, 4}));
  EXPECT_EQ(decode(png_with_orientation(4)).pixels, (Bytes{4, 5, 6, 1, 2, 3}));
  EXPECT_EQ(decode(png_with_orientation(1)).pixels, (Bytes{1, 2, 3, 4, 5, 6}));
  const cnn::GrayImage grey = cnn::decode_image(png_with_orientation(6), "turned.png");
  EXPECT_EQ(grey.width, 2u);
  EXPECT_EQ(grey.pixels, (Bytes{4, 1, 5, 2, 6, 3}));
}

TEST(ExifOrientation, ColourPlanesTurnAlike) {
  PngSpec spec{.width = 2, .height = 1, .bit_depth = 8, .colour_type = PNG_COLOR_TYPE_RGB};
  spec.rows = {10, 20, 30, 40, 50, 60};
  spec.exif = tiff_with_orientation(6);
  const Image image = decode(write_test_png(spec));
  ASSERT_EQ(image.channels, 3u);
  EXPECT_EQ(image.width, 1u);
  EXPECT_EQ(image.height, 2u);
  EXPECT_EQ(image.pixels, (Bytes{10, 40, 20, 50, 30, 60}));
}

// ---- PGM and PPM --------------------------------------------------------------------------

Bytes text_bytes(const std::string& text) {
  return Bytes(text.begin(), text.end());
}

TEST(DecodeNaturalNetpbm, BinaryAndTextPpm) {
  Bytes binary = text_bytes("P6\n2 1\n255\n");
  binary.insert(binary.end(), {255, 0, 0, 0, 0, 255});
  const Image image = decode(binary);
  ASSERT_EQ(image.channels, 3u);
  EXPECT_EQ(image.pixels, (Bytes{255, 0, 0, 0, 0, 255}));
  const Image text = decode(text_bytes("P3 # colour\n2 1 15\n15 0 0  0 0 15\n"));
  EXPECT_EQ(text.pixels, image.pixels);
  const Image grey = decode(text_bytes("P3\n2 1\n255\n7 7 7 9 9 9\n"));
  EXPECT_EQ(grey.channels, 1u);
  EXPECT_EQ(grey.pixels, (Bytes{7, 9}));
}

TEST(DecodeNaturalNetpbm, PgmAsTheGreyReader) {
  const Bytes pgm = text_bytes("P2\n3 1\n4\n0 2 4\n");
  const Image image = decode(pgm);
  EXPECT_EQ(image.channels, 1u);
  EXPECT_EQ(image.pixels, cnn::decode_image(pgm, "x.pgm").pixels);
}

TEST(DecodeNaturalNetpbm, BrokenPpmNamesTheFileAndTheProblem) {
  Bytes short_data = text_bytes("P6\n2 2\n255\n");
  short_data.insert(short_data.end(), 5, 0);
  EXPECT_TRUE(Contains(natural_error_of(short_data), "test.img: truncated PPM"));
  EXPECT_TRUE(Contains(natural_error_of(text_bytes("P3\n1 1\n255\n1 2\n")), "truncated PPM"));
  EXPECT_TRUE(Contains(natural_error_of(text_bytes("P3\n1 1\n10\n1 2 11\n")),
                       "above the maximum value 10"));
  EXPECT_TRUE(Contains(natural_error_of(text_bytes("P6\n0 1\n255\n")), "size of zero"));
  EXPECT_TRUE(Contains(natural_error_of(text_bytes("P6\n99999 99999\n255\n")), "more than"));
}

// ---- broken input ---------------------------------------------------------------------------

TEST(DecodeNaturalBroken, RefusesWithTheFileNamed) {
  EXPECT_TRUE(Contains(natural_error_of({}), "test.img: empty file"));
  EXPECT_TRUE(Contains(natural_error_of(text_bytes("GIF89a....")), "unknown signature"));
  EXPECT_TRUE(Contains(natural_error_of(text_bytes("GIF89a....")), "test.img"));

  PngSpec spec{.width = 16, .height = 16, .rows = Bytes(16 * 16 * 3, 90)};
  for (std::size_t i = 0; i < spec.rows.size(); i += 7) spec.rows[i] = static_cast<std::uint8_t>(i);
  Bytes png = write_test_png(spec);
  ASSERT_GT(png.size(), 60u);
  png.resize(png.size() - 30);
  EXPECT_TRUE(Contains(natural_error_of(png), "test.img: corrupt or truncated PNG"));
  png.resize(20);
  EXPECT_TRUE(Contains(natural_error_of(png), "test.img: not a valid PNG"));

  // Large enough that half of it ends in the compressed data, past the header.
  Bytes jpeg = write_test_jpeg(64, 64, JCS_RGB, interleave(colour_pattern(64, 64)));
  jpeg.resize(jpeg.size() / 2);
  EXPECT_TRUE(Contains(natural_error_of(jpeg), "test.img: corrupt or truncated JPEG"));
  jpeg.resize(40);
  EXPECT_TRUE(Contains(natural_error_of(jpeg), "test.img: not a valid JPEG"));
  Bytes garbage = {0xff, 0xd8, 0xff};
  for (int i = 0; i < 200; ++i) garbage.push_back(static_cast<std::uint8_t>(i * 37));
  EXPECT_TRUE(Contains(natural_error_of(garbage), "test.img"));
}

TEST(DecodeNaturalBroken, MissingFileAndFolderAreNamed) {
  TempDir dir;
  EXPECT_TRUE(
      Contains(error_message<ImageError>([&] { cnn::read_image_natural(dir.path() / "none.png"); }),
               "none.png"));
  EXPECT_TRUE(Contains(error_message<ImageError>([&] { cnn::read_image_natural(dir.path()); }),
                       "is a folder, not an image"));
}

TEST(DecodeNaturalBroken, HugeJpegIsRefusedFromItsHeader) {
  Bytes jpeg = write_test_jpeg(8, 8, JCS_GRAYSCALE, Bytes(64, 100));
  // The SOF0 segment: FF C0, length (2), precision (1), height (2), width (2).
  std::size_t sof = 2;
  while (sof + 9 < jpeg.size() && !(jpeg[sof] == 0xff && jpeg[sof + 1] == 0xc0)) ++sof;
  ASSERT_LT(sof + 9, jpeg.size());
  for (const std::size_t at : {sof + 5, sof + 7}) {
    jpeg[at] = 0x4e;  // 20000
    jpeg[at + 1] = 0x20;
  }
  EXPECT_TRUE(
      Contains(natural_error_of(jpeg), "test.img: the image is 20000x20000 pixels, more than"));
}

TEST(DecodeNaturalBroken, HugePngIsRefusedFromItsHeader) {
  PngSpec spec{.width = 1, .height = 1, .rows = {1, 2, 3}};
  Bytes png = write_test_png(spec);
  // IHDR: width at byte 16, height at 20, its CRC (over type and data) at 29.
  for (const std::size_t at : {16, 20}) {
    png[at] = 0;
    png[at + 1] = 0;
    png[at + 2] = 0x4e;  // 20000
    png[at + 3] = 0x20;
  }
  const auto crc = static_cast<std::uint32_t>(crc32(0, png.data() + 12, 17));
  for (int i = 0; i < 4; ++i) png[29 + i] = static_cast<std::uint8_t>(crc >> (24 - 8 * i));
  EXPECT_TRUE(
      Contains(natural_error_of(png), "test.img: the image is 20000x20000 pixels, more than"));
}

// ---- convert_channels -------------------------------------------------------------------------

TEST(ConvertChannels, GreyToRgbCopiesThePlane) {
  const Image grey{1, 1, 3, {0, 100, 255}};
  const Image rgb = cnn::convert_channels(grey, 3);
  EXPECT_EQ(rgb.channels, 3u);
  EXPECT_EQ(rgb.pixels, (Bytes{0, 100, 255, 0, 100, 255, 0, 100, 255}));
  EXPECT_EQ(cnn::convert_channels(rgb, 1).pixels, grey.pixels);
}

TEST(ConvertChannels, RgbToGreyByBt601Luminance) {
  // Red, green, blue, white, and (10, 20, 30): (299·10 + 587·20 + 114·30 + 500) / 1000 = 18.
  const Image rgb{3, 1, 5, {255, 0, 0, 255, 10, 0, 255, 0, 255, 20, 0, 0, 255, 255, 30}};
  const Image grey = cnn::convert_channels(rgb, 1);
  EXPECT_EQ(grey.channels, 1u);
  EXPECT_EQ(grey.pixels, (Bytes{76, 150, 29, 255, 18}));
}

TEST(ConvertChannels, SameCountIsACopyAndOtherCountsAreRefused) {
  const Image rgb = colour_pattern(2, 3);
  EXPECT_EQ(cnn::convert_channels(rgb, 3).pixels, rgb.pixels);
  EXPECT_THROW(cnn::convert_channels(rgb, 2), std::invalid_argument);
  EXPECT_THROW(cnn::convert_channels(rgb, 4), std::invalid_argument);
  EXPECT_THROW(cnn::convert_channels(Image{2, 1, 1, {1, 2}}, 1), std::invalid_argument);
}

// ---- resize_image -----------------------------------------------------------------------------

TEST(ResizeImage, SameSizeIsIdentity) {
  const Image image = colour_pattern(5, 7);
  const Image same = cnn::resize_image(image, 5, 7);
  EXPECT_EQ(same.pixels, image.pixels);
  EXPECT_EQ(same.channels, 3u);
}

TEST(ResizeImage, OneAxisUnchangedKeepsItExactly) {
  const Image image = colour_pattern(4, 6);
  const Image taller = cnn::resize_image(image, 8, 6);
  // The width is kept: each output row is a blend of input rows, columns untouched. The red
  // plane depends on x only, so it is unchanged row by row.
  for (std::size_t y = 0; y < 8; ++y) {
    for (std::size_t x = 0; x < 6; ++x) EXPECT_EQ(taller.at(0, y, x), image.at(0, 0, x));
  }
}

TEST(ResizeImage, HalvingACheckerboardGivesMidGrey) {
  Image board{1, 16, 16, Bytes(256)};
  for (std::size_t y = 0; y < 16; ++y) {
    for (std::size_t x = 0; x < 16; ++x) board.pixels[y * 16 + x] = (x + y) % 2 == 0 ? 0 : 255;
  }
  const Image half = cnn::resize_image(board, 8, 8);
  EXPECT_EQ(half.height, 8u);
  EXPECT_EQ(half.width, 8u);
  // Away from the border, where the filter is whole: 127.5 rounded.
  for (std::size_t y = 1; y < 7; ++y) {
    for (std::size_t x = 1; x < 7; ++x) EXPECT_NEAR(half.at(0, y, x), 128, 1) << x << "," << y;
  }
  // At the border the truncated filter leans to one side, but no aliasing to black or white.
  for (const std::uint8_t v : half.pixels) EXPECT_NEAR(v, 128, 20);
}

TEST(ResizeImage, ConstantStaysConstant) {
  Image flat{3, 9, 13, Bytes(3 * 9 * 13)};
  for (std::size_t c = 0; c < 3; ++c) {
    std::fill_n(flat.pixels.begin() + static_cast<std::ptrdiff_t>(c * 9 * 13), 9 * 13,
                static_cast<std::uint8_t>(50 + 100 * c));
  }
  for (const auto& [h, w] :
       {std::pair{3, 4}, std::pair{20, 31}, std::pair{9, 2}, std::pair{1, 1}, std::pair{100, 7}}) {
    const Image resized = cnn::resize_image(flat, h, w);
    ASSERT_EQ(resized.pixels.size(), 3u * h * w);
    for (std::size_t c = 0; c < 3; ++c) {
      for (std::size_t i = 0; i < std::size_t(h) * w; ++i) {
        EXPECT_EQ(resized.pixels[c * h * w + i], 50 + 100 * c);
      }
    }
  }
}

TEST(ResizeImage, DoublingIsBilinearWithHalfPixelCentres) {
  const Image row{1, 1, 3, {0, 100, 200}};
  const Image wide = cnn::resize_image(row, 1, 6);
  // Output centres at input positions 0.25, 0.75, 1.25, ...: clamped at the edges, else blends
  // of the two nearest pixels 3:1.
  EXPECT_EQ(wide.pixels, (Bytes{0, 25, 75, 125, 175, 200}));
  const Image column{1, 2, 1, {0, 255}};
  const Image tall = cnn::resize_image(column, 4, 1);
  EXPECT_EQ(tall.pixels, (Bytes{0, 64, 191, 255}));
}

TEST(ResizeImage, ShrinkingAveragesOverTheWidenedFilter) {
  // 4 -> 1: the centre is at 2, the triangle 4 pixels wide each side; pixel centres at 0.5 .. 3.5
  // get weights 1 - 1.5/4, 1 - 0.5/4, ... = 5, 7, 7, 5 (/24): (5·0 + 7·40 + 7·80 + 5·120) / 24.
  const Image row{1, 1, 4, {0, 40, 80, 120}};
  EXPECT_EQ(cnn::resize_image(row, 1, 1).pixels, Bytes{60});
}

TEST(ResizeImage, RefusesAZeroSize) {
  const Image image = colour_pattern(2, 2);
  EXPECT_THROW(cnn::resize_image(image, 0, 3), std::invalid_argument);
  EXPECT_THROW(cnn::resize_image(image, 3, 0), std::invalid_argument);
}

}  // namespace
