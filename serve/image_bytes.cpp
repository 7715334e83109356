#include "image_bytes.hpp"

#include <png.h>

#include <stdexcept>
#include <vector>

namespace cnn::serve {

namespace {

std::uint32_t big_endian32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

std::optional<ImageSize> png_size(std::span<const std::uint8_t> bytes) {
  // Signature (8), IHDR chunk length (4) and type (4), then width (4) and height (4).
  static constexpr std::uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() < 24 || !std::equal(kSignature, kSignature + 8, bytes.begin())) {
    return std::nullopt;
  }
  if (bytes[12] != 'I' || bytes[13] != 'H' || bytes[14] != 'D' || bytes[15] != 'R') {
    return std::nullopt;
  }
  return ImageSize{big_endian32(&bytes[16]), big_endian32(&bytes[20])};
}

std::optional<ImageSize> jpeg_size(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 4 || bytes[0] != 0xff || bytes[1] != 0xd8) return std::nullopt;
  std::size_t at = 2;
  while (at + 4 <= bytes.size()) {
    if (bytes[at] != 0xff) return std::nullopt;
    const std::uint8_t marker = bytes[at + 1];
    if (marker == 0xff) {  // fill byte
      ++at;
      continue;
    }
    // Markers without a length: TEM, RSTn, SOI, EOI.
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd9)) {
      at += 2;
      continue;
    }
    const std::size_t length = (std::size_t{bytes[at + 2]} << 8) | bytes[at + 3];
    if (length < 2) return std::nullopt;
    // SOF0..SOF15 except DHT (c4), JPG (c8) and DAC (cc): precision, height, width.
    const bool frame =
        marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
    if (frame) {
      if (at + 9 > bytes.size() || length < 7) return std::nullopt;
      const std::size_t height = (std::size_t{bytes[at + 5]} << 8) | bytes[at + 6];
      const std::size_t width = (std::size_t{bytes[at + 7]} << 8) | bytes[at + 8];
      return ImageSize{width, height};
    }
    if (marker == 0xda) return std::nullopt;  // scan data before any frame header
    at += 2 + length;
  }
  return std::nullopt;
}

std::optional<ImageSize> pnm_size(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 2 || bytes[0] != 'P' ||
      !(bytes[1] == '2' || bytes[1] == '3' || bytes[1] == '5' || bytes[1] == '6')) {
    return std::nullopt;
  }
  std::size_t at = 2;
  std::size_t numbers[2] = {0, 0};
  for (std::size_t& number : numbers) {
    // Whitespace and comments (# to the end of the line) before each number.
    while (at < bytes.size()) {
      const std::uint8_t ch = bytes[at];
      if (ch == '#') {
        while (at < bytes.size() && bytes[at] != '\n') ++at;
      } else if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v') {
        ++at;
      } else {
        break;
      }
    }
    std::size_t digits = 0;
    while (at < bytes.size() && bytes[at] >= '0' && bytes[at] <= '9' && digits < 10) {
      number = number * 10 + (bytes[at] - '0');
      ++at;
      ++digits;
    }
    if (digits == 0 || digits == 10) return std::nullopt;
  }
  return ImageSize{numbers[0], numbers[1]};
}

}  // namespace

std::optional<ImageSize> declared_image_size(std::span<const std::uint8_t> bytes) {
  if (auto size = png_size(bytes)) return size;
  if (auto size = jpeg_size(bytes)) return size;
  return pnm_size(bytes);
}

namespace {

void append_bytes(png_structp png, png_bytep data, png_size_t length) {
  auto* out = static_cast<std::string*>(png_get_io_ptr(png));
  out->append(reinterpret_cast<const char*>(data), length);
}

void flush_nothing(png_structp) {}

}  // namespace

std::string encode_png(const Image& image) {
  if ((image.channels != 1 && image.channels != 3) || image.width == 0 || image.height == 0 ||
      image.pixels.size() != image.channels * image.height * image.width) {
    throw std::invalid_argument("encode_png: a malformed image");
  }
  // Interleaved rows, as PNG stores them.
  std::vector<png_byte> rows(image.pixels.size());
  for (std::size_t y = 0; y < image.height; ++y) {
    for (std::size_t x = 0; x < image.width; ++x) {
      for (std::size_t c = 0; c < image.channels; ++c) {
        rows[(y * image.width + x) * image.channels + c] = image.at(c, y, x);
      }
    }
  }
  std::string out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  if (png == nullptr) throw std::runtime_error("encode_png: libpng cannot start");
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    throw std::runtime_error("encode_png: libpng failed");
  }
  png_set_write_fn(png, &out, append_bytes, flush_nothing);
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.width),
               static_cast<png_uint_32>(image.height), 8,
               image.channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (std::size_t y = 0; y < image.height; ++y) {
    png_write_row(png, rows.data() + y * image.width * image.channels);
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

}  // namespace cnn::serve
