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

#include "cnn/core/atomic_file.hpp"
#include "core/whole_file.hpp"
#include "data/image_orientation.hpp"

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

// A sample of opacity `alpha` laid onto white paper, rounded to nearest.
std::uint8_t composite_onto_white(unsigned value, unsigned alpha) {
  return static_cast<std::uint8_t>((value * alpha + 255 * (255 - alpha) + 127) / 255);
}

// The planar Image of interleaved pixels with `stride` bytes a pixel, the first three (or the
// first one, when stride is 1) being the colour: 1 channel when every pixel has R = G = B (the
// documented rule), else 3.
Image from_interleaved(const std::uint8_t* pixels, std::size_t stride, std::size_t height,
                       std::size_t width) {
  const std::size_t count = height * width;
  bool grey = true;
  if (stride >= 3) {
    for (std::size_t i = 0; i < count && grey; ++i) {
      const std::uint8_t* p = pixels + i * stride;
      grey = p[0] == p[1] && p[1] == p[2];
    }
  }
  Image image{grey ? std::size_t{1} : std::size_t{3}, height, width, {}};
  image.pixels.resize(image.channels * count);
  for (std::size_t c = 0; c < image.channels; ++c) {
    std::uint8_t* plane = image.pixels.data() + c * count;
    for (std::size_t i = 0; i < count; ++i) plane[i] = pixels[i * stride + c];
  }
  return image;
}

// ---- PNG ----------------------------------------------------------------------------------
// The grey reader (kept as it was, so that its output does not change) uses libpng's simplified
// API, which reports errors in the image struct (no longjmp) and converts colour to grey itself.

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
    image.pixels[i] = composite_onto_white(gray_alpha[2 * i], gray_alpha[2 * i + 1]);
  }
  return apply_orientation(std::move(image), png_exif_orientation(bytes));
}

// The colour reader uses libpng's full API: the simplified API takes a 16-bit file without a
// gAMA chunk as linear light and re-encodes it to sRGB, which changes every sample; here the
// samples are taken as stored (as PIL and torchvision do), 16-bit ones scaled to 8 bits with
// rounding (png_set_scale_16: v·255/65535). Its errors longjmp back to the C-style functions below.

struct PngSource {
  png_structp png = nullptr;
  png_infop info = nullptr;
  const std::uint8_t* data = nullptr;
  std::size_t size = 0, pos = 0;
  char message[256] = "unknown error";
};

void png_read_from_memory(png_structp png, png_bytep out, png_size_t length) {
  auto* source = static_cast<PngSource*>(png_get_io_ptr(png));
  if (length > source->size - source->pos) png_error(png, "the file ends early");
  std::memcpy(out, source->data + source->pos, length);
  source->pos += length;
}

[[noreturn]] void png_on_error(png_structp png, png_const_charp message) {
  auto* source = static_cast<PngSource*>(png_get_error_ptr(png));
  std::snprintf(source->message, sizeof source->message, "%s", message);
  png_longjmp(png, 1);
}

void png_on_warning(png_structp, png_const_charp) {}  // benign (an odd ancillary chunk)

// Reads the header and sets up the conversion to 8-bit RGBA for every colour type and bit depth.
// C-style on purpose: nothing with a destructor lives between setjmp and longjmp.
bool png_read_header(PngSource* source, std::uint32_t* width, std::uint32_t* height) {
  if (setjmp(png_jmpbuf(source->png)) != 0) return false;
  png_set_read_fn(source->png, source, png_read_from_memory);
  png_read_info(source->png, source->info);
  *width = png_get_image_width(source->png, source->info);
  *height = png_get_image_height(source->png, source->info);
  const int colour_type = png_get_color_type(source->png, source->info);
  png_set_scale_16(source->png);
  if (colour_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(source->png);
  if (colour_type == PNG_COLOR_TYPE_GRAY) png_set_expand_gray_1_2_4_to_8(source->png);
  const bool transparency = png_get_valid(source->png, source->info, PNG_INFO_tRNS) != 0;
  if (transparency) png_set_tRNS_to_alpha(source->png);
  if ((colour_type & PNG_COLOR_MASK_COLOR) == 0) png_set_gray_to_rgb(source->png);
  if ((colour_type & PNG_COLOR_MASK_ALPHA) == 0 && !transparency) {
    png_set_filler(source->png, 0xff, PNG_FILLER_AFTER);
  }
  png_set_interlace_handling(source->png);
  png_read_update_info(source->png, source->info);
  if (png_get_rowbytes(source->png, source->info) != std::size_t{*width} * 4) {
    std::snprintf(source->message, sizeof source->message, "unexpected row size after conversion");
    return false;
  }
  return true;
}

bool png_read_pixels(PngSource* source, png_bytepp rows) {
  if (setjmp(png_jmpbuf(source->png)) != 0) return false;
  png_read_image(source->png, rows);
  png_read_end(source->png, nullptr);
  return true;
}

Image decode_png_natural(std::span<const std::uint8_t> bytes, const std::string& name) {
  PngSource source;
  source.data = bytes.data();
  source.size = bytes.size();
  source.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, png_on_error, png_on_warning);
  if (source.png != nullptr) source.info = png_create_info_struct(source.png);
  struct Release {
    PngSource& s;
    ~Release() { png_destroy_read_struct(&s.png, &s.info, nullptr); }
  } release{source};
  if (source.info == nullptr) throw ImageError(name + ": cannot decode PNG: out of memory");
  std::uint32_t width = 0, height = 0;
  if (!png_read_header(&source, &width, &height)) {
    throw ImageError(name + ": not a valid PNG: " + source.message);
  }
  check_dimensions(width, height, name);
  std::vector<std::uint8_t> rgba(std::size_t{width} * height * 4);
  std::vector<png_bytep> rows(height);
  for (std::size_t y = 0; y < height; ++y) rows[y] = rgba.data() + y * width * 4;
  if (!png_read_pixels(&source, rows.data())) {
    throw ImageError(name + ": corrupt or truncated PNG: " + source.message);
  }
  const std::size_t count = std::size_t{width} * height;
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint8_t alpha = rgba[4 * i + 3];
    if (alpha == 255) continue;
    for (std::size_t c = 0; c < 3; ++c) {
      rgba[4 * i + c] = composite_onto_white(rgba[4 * i + c], alpha);
    }
  }
  return apply_orientation(from_interleaved(rgba.data(), 4, height, width),
                           png_exif_orientation(bytes));
}

// ---- JPEG (libjpeg-turbo; its errors longjmp back to the C-style functions below) -----------

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

// What the header pass finds out.
struct JpegHeader {
  std::size_t width = 0, height = 0;
  J_COLOR_SPACE colour_space = JCS_UNKNOWN;  // as libjpeg judges the file's
  bool adobe_marker = false;                 // an APP14 "Adobe" segment
  int orientation = 1;                       // EXIF, 1 when there is none
};

// Routes libjpeg's errors and warnings to `errors` (its message starts as "unknown error").
void use_error_manager(jpeg_decompress_struct& cinfo, JpegErrorManager& errors) {
  cinfo.err = jpeg_std_error(&errors.manager);
  errors.manager.error_exit = jpeg_on_error;
  errors.manager.emit_message = jpeg_on_message;
  std::snprintf(errors.message, sizeof errors.message, "unknown error");
}

// The functions below are C-style on purpose: nothing with a destructor lives between setjmp
// and longjmp. They return false with `message` (JMSG_LENGTH_MAX bytes) filled on failure.

bool read_jpeg_header(const std::uint8_t* data, std::size_t size, JpegHeader* header,
                      char* message) {
  jpeg_decompress_struct cinfo;
  JpegErrorManager errors;
  use_error_manager(cinfo, errors);
  if (setjmp(errors.jump) != 0) {
    jpeg_destroy_decompress(&cinfo);
    std::snprintf(message, JMSG_LENGTH_MAX, "%s", errors.message);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xffff);  // APP1: EXIF
  jpeg_read_header(&cinfo, TRUE);
  header->width = cinfo.image_width;
  header->height = cinfo.image_height;
  header->colour_space = cinfo.jpeg_color_space;
  header->adobe_marker = cinfo.saw_Adobe_marker != 0;
  // No libjpeg call (so no longjmp) happens while the EXIF block is parsed.
  for (jpeg_saved_marker_ptr marker = cinfo.marker_list; marker != nullptr; marker = marker->next) {
    if (marker->marker == JPEG_APP0 + 1 && marker->data_length >= 6 &&
        std::memcmp(marker->data, "Exif\0\0", 6) == 0) {
      header->orientation =
          exif_orientation(std::span<const std::uint8_t>(marker->data, marker->data_length));
      break;
    }
  }
  jpeg_destroy_decompress(&cinfo);
  return true;
}

// Decodes into `pixels` (height rows of width·components bytes, allocated by the caller after
// the size was checked) as `out_space` (JCS_GRAYSCALE, JCS_RGB or JCS_CMYK).
bool decode_jpeg_pixels(const std::uint8_t* data, std::size_t size, J_COLOR_SPACE out_space,
                        std::uint8_t* pixels, std::size_t row_bytes, char* message) {
  jpeg_decompress_struct cinfo;
  JpegErrorManager errors;
  use_error_manager(cinfo, errors);
  if (setjmp(errors.jump) != 0) {
    jpeg_destroy_decompress(&cinfo);
    std::snprintf(message, JMSG_LENGTH_MAX, "%s", errors.message);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  // libjpeg converts YCbCr to grey by its luma channel, YCbCr and grey to RGB, YCCK to CMYK.
  cinfo.out_color_space = out_space;
  jpeg_start_decompress(&cinfo);
  if (cinfo.output_width * static_cast<std::size_t>(cinfo.output_components) != row_bytes) {
    std::snprintf(message, JMSG_LENGTH_MAX, "the image changed size between two reads");
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = pixels + static_cast<std::size_t>(cinfo.output_scanline) * row_bytes;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

// The header, the size checked against the limits before any pixel memory is allocated.
JpegHeader jpeg_header(std::span<const std::uint8_t> bytes, const std::string& name) {
  JpegHeader header;
  char message[JMSG_LENGTH_MAX] = {};
  if (!read_jpeg_header(bytes.data(), bytes.size(), &header, message)) {
    throw ImageError(name + ": not a valid JPEG: " + message);
  }
  check_dimensions(header.width, header.height, name);
  return header;
}

// Interleaved samples of `components` (1, 3 or 4) a pixel in `out_space`.
std::vector<std::uint8_t> jpeg_pixels(std::span<const std::uint8_t> bytes, const std::string& name,
                                      const JpegHeader& header, J_COLOR_SPACE out_space,
                                      std::size_t components) {
  std::vector<std::uint8_t> pixels(header.width * header.height * components);
  char message[JMSG_LENGTH_MAX] = {};
  if (!decode_jpeg_pixels(bytes.data(), bytes.size(), out_space, pixels.data(),
                          header.width * components, message)) {
    throw ImageError(name + ": corrupt or truncated JPEG: " + message);
  }
  return pixels;
}

bool is_cmyk(const JpegHeader& header) {
  return header.colour_space == JCS_CMYK || header.colour_space == JCS_YCCK;
}

Image decode_jpeg_natural(std::span<const std::uint8_t> bytes, const std::string& name) {
  const JpegHeader header = jpeg_header(bytes, name);
  Image image;
  if (header.colour_space == JCS_GRAYSCALE) {
    image =
        Image{1, header.height, header.width, jpeg_pixels(bytes, name, header, JCS_GRAYSCALE, 1)};
  } else if (is_cmyk(header)) {
    // libjpeg does not convert CMYK to RGB; it is done here, simply, without a colour profile:
    // R = (255 - C)(255 - K) / 255 and so on. Photoshop writes CMYK (and YCCK) JPEGs inverted,
    // 255 meaning no ink, and always with an Adobe APP14 segment; other writers of CMYK (rare)
    // store ink amounts and write none. So the samples are taken as inverted exactly when the
    // file has the Adobe segment, as browsers and libjpeg's own djpeg/cjpeg round trips do.
    std::vector<std::uint8_t> cmyk = jpeg_pixels(bytes, name, header, JCS_CMYK, 4);
    const std::size_t count = header.width * header.height;
    for (std::size_t i = 0; i < count; ++i) {
      std::uint8_t* p = cmyk.data() + 4 * i;
      const unsigned k = header.adobe_marker ? p[3] : 255u - p[3];
      for (std::size_t c = 0; c < 3; ++c) {
        const unsigned paper = header.adobe_marker ? p[c] : 255u - p[c];
        p[c] = static_cast<std::uint8_t>((paper * k + 127) / 255);
      }
    }
    image = from_interleaved(cmyk.data(), 4, header.height, header.width);
  } else {
    const std::vector<std::uint8_t> rgb = jpeg_pixels(bytes, name, header, JCS_RGB, 3);
    image = from_interleaved(rgb.data(), 3, header.height, header.width);
  }
  return apply_orientation(std::move(image), header.orientation);
}

GrayImage decode_jpeg(std::span<const std::uint8_t> bytes, const std::string& name) {
  const JpegHeader header = jpeg_header(bytes, name);
  if (is_cmyk(header)) {
    // libjpeg has no CMYK to grey; by way of RGB (the orientation is applied there).
    const Image grey = convert_channels(decode_jpeg_natural(bytes, name), 1);
    return GrayImage{grey.width, grey.height, grey.pixels};
  }
  GrayImage image{header.width, header.height, jpeg_pixels(bytes, name, header, JCS_GRAYSCALE, 1)};
  return apply_orientation(std::move(image), header.orientation);
}

// ---- PGM and PPM (Netpbm: "P5"/"P6" binary or "P2"/"P3" text, header fields separated by white
// space, '#' comments; PGM has 1 sample a pixel, PPM 3: red, green, blue) ---------------------

struct NetpbmPixels {
  std::size_t width = 0, height = 0, channels = 1;
  std::vector<std::uint8_t> samples;  // interleaved, channels a pixel
};

class NetpbmReader {
 public:
  NetpbmReader(std::span<const std::uint8_t> bytes, const std::string& name)
      : bytes_(bytes), name_(name) {}

  // The bytes must start with P2, P3, P5 or P6.
  NetpbmPixels read() {
    const bool binary = bytes_[1] == '5' || bytes_[1] == '6';
    const std::size_t channels = bytes_[1] == '3' || bytes_[1] == '6' ? 3 : 1;
    format_ = channels == 3 ? "PPM" : "PGM";
    pos_ = 2;
    const std::size_t width = header_number("width");
    const std::size_t height = header_number("height");
    const std::size_t maxval = header_number("maximum value");
    if (maxval == 0 || maxval > 65535) {
      throw ImageError(name_ + ": " + format_ + " maximum value " + std::to_string(maxval) +
                       " is not in 1..65535");
    }
    check_dimensions(width, height, name_);
    NetpbmPixels image{width, height, channels,
                       std::vector<std::uint8_t>(width * height * channels)};
    const auto scale = [&](std::size_t value) {
      if (value > maxval) {
        throw ImageError(name_ + ": " + format_ + " pixel value " + std::to_string(value) +
                         " is above the maximum value " + std::to_string(maxval));
      }
      return static_cast<std::uint8_t>((value * 255 + maxval / 2) / maxval);
    };
    if (binary) {
      ++pos_;  // exactly one white-space byte ends the header
      const std::size_t bytes_per_value = maxval < 256 ? 1 : 2;
      const std::size_t needed = image.samples.size() * bytes_per_value;
      if (pos_ > bytes_.size() || bytes_.size() - pos_ < needed) {
        throw ImageError(name_ + ": truncated " + format_ + ": " + std::to_string(width) + "x" +
                         std::to_string(height) + " pixels need " + std::to_string(needed) +
                         " bytes of data, the file has " +
                         std::to_string(pos_ > bytes_.size() ? 0 : bytes_.size() - pos_));
      }
      for (std::size_t i = 0; i < image.samples.size(); ++i) {
        const std::uint8_t* p = bytes_.data() + pos_ + i * bytes_per_value;
        image.samples[i] = scale(bytes_per_value == 1 ? p[0] : (std::size_t{p[0]} << 8) | p[1]);
      }
    } else {
      for (std::size_t i = 0; i < image.samples.size(); ++i) {
        skip_space_and_comments();
        if (pos_ >= bytes_.size()) {
          throw ImageError(name_ + ": truncated " + format_ + ": " + std::to_string(i) + " of " +
                           std::to_string(image.samples.size()) +
                           (channels == 1 ? " pixel values" : " sample values"));
        }
        image.samples[i] = scale(number(channels == 1 ? "pixel value" : "sample value"));
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
    if (pos_ >= bytes_.size()) {
      throw ImageError(name_ + ": truncated " + format_ + " header (no " + what + ")");
    }
    return number(what);
  }

  std::size_t number(const char* what) {
    std::size_t value = 0, digits = 0;
    while (pos_ < bytes_.size() && std::isdigit(bytes_[pos_]) != 0) {
      value = value * 10 + (bytes_[pos_++] - '0');
      if (++digits > 9)
        throw ImageError(name_ + ": " + format_ + " " + what + " has too many digits");
    }
    if (digits == 0) {
      throw ImageError(name_ + ": " + format_ + " " + what + " is not a number (byte " +
                       std::to_string(pos_) + ")");
    }
    return value;
  }

  std::span<const std::uint8_t> bytes_;
  const std::string& name_;
  std::string format_ = "PGM";
  std::size_t pos_ = 0;
};

bool is_png(std::span<const std::uint8_t> bytes) {
  return starts_with(bytes, {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
}
bool is_jpeg(std::span<const std::uint8_t> bytes) {
  return starts_with(bytes, {0xff, 0xd8, 0xff});
}
bool is_pgm(std::span<const std::uint8_t> bytes) {
  return starts_with(bytes, {'P', '5'}) || starts_with(bytes, {'P', '2'});
}
bool is_ppm(std::span<const std::uint8_t> bytes) {
  return starts_with(bytes, {'P', '6'}) || starts_with(bytes, {'P', '3'});
}

// libpng's writer into memory (the simplified API: no longjmp); the caller writes the bytes.
std::vector<std::uint8_t> encode_png(const Image& image, const std::string& name) {
  if ((image.channels != 1 && image.channels != 3) || image.height == 0 || image.width == 0 ||
      image.pixels.size() != image.channels * image.height * image.width) {
    throw std::invalid_argument(name + ": cannot write an image of " +
                                std::to_string(image.channels) + " channels, " +
                                std::to_string(image.height) + "x" + std::to_string(image.width) +
                                " and " + std::to_string(image.pixels.size()) +
                                " bytes as PNG (1 or 3 channels of height x width bytes expected)");
  }
  check_dimensions(image.width, image.height, name);
  // PNG stores the samples of a pixel together.
  const std::size_t count = image.height * image.width;
  std::vector<std::uint8_t> interleaved(image.pixels.size());
  for (std::size_t c = 0; c < image.channels; ++c) {
    for (std::size_t i = 0; i < count; ++i) {
      interleaved[i * image.channels + c] = image.pixels[c * count + i];
    }
  }
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = image.channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  png_alloc_size_t size = 0;
  if (png_image_write_to_memory(&png, nullptr, &size, 0, interleaved.data(), 0, nullptr) == 0) {
    const std::string message = png.message;
    png_image_free(&png);
    throw ImageError(name + ": cannot encode PNG: " + message);
  }
  std::vector<std::uint8_t> encoded(size);
  if (png_image_write_to_memory(&png, encoded.data(), &size, 0, interleaved.data(), 0, nullptr) ==
      0) {
    const std::string message = png.message;
    png_image_free(&png);
    throw ImageError(name + ": cannot encode PNG: " + message);
  }
  encoded.resize(size);
  return encoded;
}

std::vector<std::uint8_t> read_image_file(const std::filesystem::path& path) {
  return read_whole_file_as<ImageError>(path, {.folder = "is a folder, not an image",
                                               .max_bytes = kMaxFileBytes,
                                               .too_large_for = "an image"});
}

}  // namespace

GrayImage decode_image(std::span<const std::uint8_t> bytes, const std::string& name) {
  if (bytes.empty()) throw ImageError(name + ": empty file");
  if (is_png(bytes)) return decode_png(bytes, name);
  if (is_jpeg(bytes)) return decode_jpeg(bytes, name);
  if (is_pgm(bytes)) {
    NetpbmPixels pgm = NetpbmReader(bytes, name).read();
    return GrayImage{pgm.width, pgm.height, std::move(pgm.samples)};
  }
  throw ImageError(name + ": not a PNG, JPEG or PGM file (unknown signature)");
}

GrayImage read_image(const std::filesystem::path& path) {
  return decode_image(read_image_file(path), path.string());
}

Image decode_image_natural(std::span<const std::uint8_t> bytes, const std::string& name) {
  if (bytes.empty()) throw ImageError(name + ": empty file");
  if (is_png(bytes)) return decode_png_natural(bytes, name);
  if (is_jpeg(bytes)) return decode_jpeg_natural(bytes, name);
  if (is_pgm(bytes) || is_ppm(bytes)) {
    const NetpbmPixels netpbm = NetpbmReader(bytes, name).read();
    return from_interleaved(netpbm.samples.data(), netpbm.channels, netpbm.height, netpbm.width);
  }
  throw ImageError(name + ": not a PNG, JPEG, PGM or PPM file (unknown signature)");
}

Image read_image_natural(const std::filesystem::path& path) {
  return decode_image_natural(read_image_file(path), path.string());
}

void write_png(const std::filesystem::path& path, const Image& image) {
  const std::vector<std::uint8_t> encoded = encode_png(image, path.string());
  try {
    write_file_atomically(path, {std::as_bytes(std::span(encoded))});
  } catch (const FileWriteError& error) {
    throw ImageError(error.what());
  }
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
