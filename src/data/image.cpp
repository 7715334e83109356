#include "cnn/data/image.hpp"

#include <jpeglib.h>
#include <png.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "core/whole_file.hpp"

namespace cnn {

namespace {

// Files larger than this are not images this program should decode (a 64-Mpixel 16-bit RGBA PNG
// stored uncompressed is about 512 MiB).
constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t{1} << 30;

void check_dimensions(std::size_t width, std::size_t height, const std::string& name) {
  if (width == 0 || height == 0) {
    throw ImageError(name + ": the image is " + std::to_string(width) + "x" +
                     std::to_string(height) + " pixels (a size of zero)");
  }
  if (width > kMaxImageSide || height > kMaxImageSide || width * height > kMaxImagePixels) {
    throw ImageError(name + ": the image is " + std::to_string(width) + "x" +
                     std::to_string(height) + " pixels, more than the " +
                     std::to_string(kMaxImageSide) + " a side and " +
                     std::to_string(kMaxImagePixels >> 20) + " Mpixels supported");
  }
}

bool starts_with(std::span<const std::uint8_t> bytes, std::initializer_list<std::uint8_t> prefix) {
  return bytes.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), bytes.begin());
}

// ---- PNG (libpng's simplified API, which reports errors in the image struct, no longjmp) ----

GrayImage decode_png(std::span<const std::uint8_t> bytes, const std::string& name) {
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  const auto fail = [&](const char* what) {
    const std::string message = png.message;
    png_image_free(&png);
    return ImageError(name + ": " + what + " PNG: " + message);
  };
  if (png_image_begin_read_from_memory(&png, bytes.data(), bytes.size()) == 0) {
    throw fail("not a valid");
  }
  try {
    check_dimensions(png.width, png.height, name);
  } catch (...) {
    png_image_free(&png);
    throw;
  }
  // Gray + alpha, so that transparent pixels can be composited onto white (paper) below.
  png.format = PNG_FORMAT_GA;
  std::vector<std::uint8_t> gray_alpha(PNG_IMAGE_SIZE(png));
  if (png_image_finish_read(&png, nullptr, gray_alpha.data(), 0, nullptr) == 0) {
    throw fail("corrupt or truncated");
  }
  GrayImage image{png.width, png.height, std::vector<std::uint8_t>(png.width * png.height)};
  png_image_free(&png);
  for (std::size_t i = 0; i < image.pixels.size(); ++i) {
    const unsigned gray = gray_alpha[2 * i], alpha = gray_alpha[2 * i + 1];
    image.pixels[i] = static_cast<std::uint8_t>((gray * alpha + 255 * (255 - alpha) + 127) / 255);
  }
  return image;
}

// ---- JPEG (libjpeg-turbo; its errors longjmp back to decode_jpeg_into) ----------------------

struct JpegErrorManager {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void jpeg_on_error(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

// libjpeg treats a truncated file as a warning and fills the rest with gray; here it is an error.
void jpeg_on_message(j_common_ptr cinfo, int level) {
  if (level < 0) jpeg_on_error(cinfo);
}

// C-style on purpose: nothing with a destructor lives between setjmp and longjmp. Returns false
// with `message` filled on failure. `image` receives the size first, then the pixels.
bool decode_jpeg_into(const std::uint8_t* data, std::size_t size, GrayImage* image, char* message,
                      bool* too_large) {
  jpeg_decompress_struct cinfo;
  JpegErrorManager errors;
  cinfo.err = jpeg_std_error(&errors.manager);
  errors.manager.error_exit = jpeg_on_error;
  errors.manager.emit_message = jpeg_on_message;
  std::snprintf(errors.message, sizeof errors.message, "unknown error");
  if (setjmp(errors.jump) != 0) {
    jpeg_destroy_decompress(&cinfo);
    std::snprintf(message, JMSG_LENGTH_MAX, "%s", errors.message);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  image->width = cinfo.image_width;
  image->height = cinfo.image_height;
  if (image->width == 0 || image->height == 0 || image->width > kMaxImageSide ||
      image->height > kMaxImageSide || image->width * image->height > kMaxImagePixels) {
    *too_large = true;
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  cinfo.out_color_space = JCS_GRAYSCALE;  // libjpeg converts YCbCr by its luma channel
  jpeg_start_decompress(&cinfo);
  std::uint8_t* pixels = image->pixels.data();  // sized by the caller after the header check
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = pixels + static_cast<std::size_t>(cinfo.output_scanline) * image->width;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

GrayImage decode_jpeg(std::span<const std::uint8_t> bytes, const std::string& name) {
  // First pass reads the header only, so the pixels are allocated after the size is checked.
  GrayImage image;
  char message[JMSG_LENGTH_MAX] = {};
  bool too_large = false;
  {
    jpeg_decompress_struct cinfo;
    JpegErrorManager errors;
    cinfo.err = jpeg_std_error(&errors.manager);
    errors.manager.error_exit = jpeg_on_error;
    errors.manager.emit_message = jpeg_on_message;
    if (setjmp(errors.jump) != 0) {
      jpeg_destroy_decompress(&cinfo);
      throw ImageError(name + ": not a valid JPEG: " + errors.message);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
    jpeg_read_header(&cinfo, TRUE);
    image.width = cinfo.image_width;
    image.height = cinfo.image_height;
    jpeg_destroy_decompress(&cinfo);
  }
  check_dimensions(image.width, image.height, name);
  image.pixels.resize(image.width * image.height);
  if (!decode_jpeg_into(bytes.data(), bytes.size(), &image, message, &too_large)) {
    if (too_large) check_dimensions(image.width, image.height, name);
    throw ImageError(name + ": corrupt or truncated JPEG: " + message);
  }
  return image;
}

// ---- PGM (Netpbm: "P5" binary or "P2" text, header fields separated by white space) ---------

class PgmReader {
 public:
  PgmReader(std::span<const std::uint8_t> bytes, const std::string& name)
      : bytes_(bytes), name_(name) {}

  GrayImage read() {
    const bool binary = bytes_[1] == '5';
    pos_ = 2;
    const std::size_t width = header_number("width");
    const std::size_t height = header_number("height");
    const std::size_t maxval = header_number("maximum value");
    if (maxval == 0 || maxval > 65535) {
      throw ImageError(name_ + ": PGM maximum value " + std::to_string(maxval) +
                       " is not in 1..65535");
    }
    check_dimensions(width, height, name_);
    GrayImage image{width, height, std::vector<std::uint8_t>(width * height)};
    const auto scale = [&](std::size_t value) {
      if (value > maxval) {
        throw ImageError(name_ + ": PGM pixel value " + std::to_string(value) +
                         " is above the maximum value " + std::to_string(maxval));
      }
      return static_cast<std::uint8_t>((value * 255 + maxval / 2) / maxval);
    };
    if (binary) {
      ++pos_;  // exactly one white-space byte ends the header
      const std::size_t bytes_per_value = maxval < 256 ? 1 : 2;
      const std::size_t needed = image.pixels.size() * bytes_per_value;
      if (pos_ > bytes_.size() || bytes_.size() - pos_ < needed) {
        throw ImageError(name_ + ": truncated PGM: " + std::to_string(width) + "x" +
                         std::to_string(height) + " pixels need " + std::to_string(needed) +
                         " bytes of data, the file has " +
                         std::to_string(pos_ > bytes_.size() ? 0 : bytes_.size() - pos_));
      }
      for (std::size_t i = 0; i < image.pixels.size(); ++i) {
        const std::uint8_t* p = bytes_.data() + pos_ + i * bytes_per_value;
        image.pixels[i] = scale(bytes_per_value == 1 ? p[0] : (std::size_t{p[0]} << 8) | p[1]);
      }
    } else {
      for (std::size_t i = 0; i < image.pixels.size(); ++i) {
        skip_space_and_comments();
        if (pos_ >= bytes_.size()) {
          throw ImageError(name_ + ": truncated PGM: " + std::to_string(i) + " of " +
                           std::to_string(image.pixels.size()) + " pixel values");
        }
        image.pixels[i] = scale(number("pixel value"));
      }
    }
    return image;
  }

 private:
  void skip_space_and_comments() {
    while (pos_ < bytes_.size()) {
      if (bytes_[pos_] == '#') {
        while (pos_ < bytes_.size() && bytes_[pos_] != '\n') ++pos_;
      } else if (std::isspace(bytes_[pos_]) != 0) {
        ++pos_;
      } else {
        return;
      }
    }
  }

  std::size_t header_number(const char* what) {
    skip_space_and_comments();
    if (pos_ >= bytes_.size()) throw ImageError(name_ + ": truncated PGM header (no " + what + ")");
    return number(what);
  }

  std::size_t number(const char* what) {
    std::size_t value = 0, digits = 0;
    while (pos_ < bytes_.size() && std::isdigit(bytes_[pos_]) != 0) {
      value = value * 10 + (bytes_[pos_++] - '0');
      if (++digits > 9) throw ImageError(name_ + ": PGM " + what + " has too many digits");
    }
    if (digits == 0) {
      throw ImageError(name_ + ": PGM " + what + " is not a number (byte " + std::to_string(pos_) +
                       ")");
    }
    return value;
  }

  std::span<const std::uint8_t> bytes_;
  const std::string& name_;
  std::size_t pos_ = 0;
};

}  // namespace

GrayImage decode_image(std::span<const std::uint8_t> bytes, const std::string& name) {
  if (bytes.empty()) throw ImageError(name + ": empty file");
  if (starts_with(bytes, {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'})) {
    return decode_png(bytes, name);
  }
  if (starts_with(bytes, {0xff, 0xd8, 0xff})) return decode_jpeg(bytes, name);
  if (starts_with(bytes, {'P', '5'}) || starts_with(bytes, {'P', '2'})) {
    return PgmReader(bytes, name).read();
  }
  throw ImageError(name + ": not a PNG, JPEG or PGM file (unknown signature)");
}

GrayImage read_image(const std::filesystem::path& path) {
  return decode_image(read_whole_file_as<ImageError>(path, {.folder = "is a folder, not an image",
                                                            .max_bytes = kMaxFileBytes,
                                                            .too_large_for = "an image"}),
                      path.string());
}

void write_pgm(const std::filesystem::path& path, const GrayImage& image) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << "P5\n" << image.width << " " << image.height << "\n255\n";
  out.write(reinterpret_cast<const char*>(image.pixels.data()),
            static_cast<std::streamsize>(image.pixels.size()));
  out.close();
  if (!out) throw ImageError(path.string() + ": cannot write");
}

}  // namespace cnn
