// Reading photos and drawings (PNG, JPEG, PGM) as grayscale, and preparing them the way the MNIST
// digits were prepared, so a trained network can classify digits a person drew or photographed;
// reading them with their colour (and PPM) for colour data sets, converting, resizing and
// writing PNG.
//
// PNG is decoded and written by libpng, JPEG decoded by libjpeg-turbo, the EXIF orientation read
// by libexif; PGM (P5 binary, P2 text) and PPM (P6, P3) are read here. The format is found from
// the file's first bytes, not its name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace cnn {

// An image file that cannot be used; the message names the file and the problem.
class ImageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// 8-bit grayscale, row-major, 0 = black, 255 = white.
struct GrayImage {
  std::size_t width = 0, height = 0;
  std::vector<std::uint8_t> pixels;  // width·height bytes

  std::uint8_t at(std::size_t x, std::size_t y) const { return pixels[y * width + x]; }
};

// An 8-bit image of 1 (grey) or 3 (red, green, blue) channels, stored planar: channel after
// channel, each row-major, the layout of one image of a [C, H, W] tensor and of a Dataset.
struct Image {
  std::size_t channels = 1, height = 0, width = 0;
  std::vector<std::uint8_t> pixels;  // channels·height·width bytes

  std::uint8_t at(std::size_t c, std::size_t y, std::size_t x) const {
    return pixels[(c * height + y) * width + x];
  }
};

// Largest image accepted: 16384 pixels a side and 64 Mpixels in all, checked from the header
// before any pixel memory is allocated.
inline constexpr std::size_t kMaxImageSide = 16384;
inline constexpr std::size_t kMaxImagePixels = std::size_t{64} << 20;

// Reads a PNG, JPEG or PGM file of any size, bit depth and colour type as grayscale (colour is
// converted by luminance; transparent pixels are composited onto white, as paper; the EXIF
// orientation of a JPEG or PNG is applied, as by read_image_natural). Throws
// ImageError naming the file for: a missing or unreadable file, an unknown format, a truncated or
// corrupt file, a width or height of zero, dimensions beyond the limits above.
GrayImage read_image(const std::filesystem::path& path);
// The same for bytes already in memory; `name` is used in messages.
GrayImage decode_image(std::span<const std::uint8_t> bytes, const std::string& name);

// Reads a PNG, JPEG or PGM/PPM file keeping its colour: 1 channel when every pixel is grey
// (R = G = B, whatever colour type the file declares), else 3 (RGB): colour when any pixel has
// R != G or G != B, after compositing. The EXIF orientation (a JPEG's APP1 Exif segment, a PNG's
// eXIf chunk; values 1-8) is applied, so width and height are those of the upright picture.
// PNG: palette images are expanded, 16-bit samples rounded to 8 bits (v·255/65535), samples taken
// as stored (a gAMA or iCCP chunk is not applied, as PIL does), transparent pixels composited
// onto white like read_image. JPEG: grey, YCbCr and RGB as libjpeg-turbo decodes them; CMYK and
// YCCK converted to RGB without a colour profile (R = (255 - C)(255 - K) / 255, ...), taken as
// Photoshop's inverted CMYK (255 = no ink) exactly when the file has an Adobe APP14 segment.
// PGM (P5, P2) as read_image, PPM (P6 binary, P3 text; maximum value up to 65535, scaled to 8
// bits). Throws ImageError naming the file for everything read_image refuses (and for a bad PPM).
Image read_image_natural(const std::filesystem::path& path);
// The same for bytes already in memory; `name` is used in messages.
Image decode_image_natural(std::span<const std::uint8_t> bytes, const std::string& name);

// The image with `channels` (1 or 3) channels: grey to RGB copies the plane 3 times, RGB to grey
// takes the ITU-R BT.601 luminance in integers, Y = (299 R + 587 G + 114 B + 500) / 1000 (so
// R = G = B = v gives v); the same count returns a copy. std::invalid_argument for other counts
// or an image whose pixels do not match its channels x height x width.
Image convert_channels(const Image& image, std::size_t channels);

// The image resampled to height x width (every channel alike), stretched: the aspect ratio is
// not kept. The filter is separable, rows then columns, with pixel centres at half pixels
// (output pixel i samples the input at (i + 0.5)·in/out): a triangle (bilinear) filter whose
// support widens with the scale factor when shrinking, so that every input pixel contributes
// (area-aware, no aliasing; as PIL's BILINEAR resample), plain bilinear interpolation when
// enlarging; at the edges the taps outside the image are dropped and the rest renormalised
// (for enlarging, the same as clamping). Rounded to nearest once, after both passes. The same
// size returns the image unchanged (the bytes equal); an axis of unchanged size is copied
// exactly. std::invalid_argument for a size of zero or a malformed image.
Image resize_image(const Image& image, std::size_t height, std::size_t width);

// Writes an 8-bit grey (1 channel) or RGB (3 channels) PNG, atomically (a temporary file in the
// same folder renamed over the target, see cnn/core/atomic_file.hpp): a crash leaves the old file
// or the new one. Throws ImageError naming the file on I/O errors, std::invalid_argument for a
// malformed image (other channel counts, pixels not channels x height x width, a size of zero),
// ImageError for a size beyond the limits above.
void write_png(const std::filesystem::path& path, const Image& image);

// Writes a binary PGM (P5); throws ImageError on I/O errors.
void write_pgm(const std::filesystem::path& path, const GrayImage& image);

// Prepares a drawing as the MNIST digits were prepared (LeCun et al.): a white digit on black,
// scaled with its aspect ratio kept to fit a 20x20 box, anti-aliased, and placed in a 28x28 image
// so that its centre of mass is the centre pixel. Before that, a light background (a dark digit on
// paper, judged from the image border) is inverted, the background is estimated locally and
// subtracted (so uneven light, a vignette, a shadow's edge and paper grain of a photo are not ink),
// what remains of the paper is cut at a noise floor found from the histogram, contrast is
// stretched to 0..255 and the image is cropped to the digit's bounding box. An evenly lit drawing
// is prepared as with one background level. Throws ImageError (naming `name`) when the image has
// no digit (uniform or only lighting, no ink).
GrayImage prepare_digit(const GrayImage& image, const std::string& name = "image");

}  // namespace cnn
