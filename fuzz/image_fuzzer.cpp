// Fuzz target for the image readers: the grey reader of `cnn predict` (PNG through libpng,
// JPEG through libjpeg-turbo, PGM by hand, EXIF orientation through libexif) and the MNIST-style
// preparation after it, and the colour reader of the data sets (decode_image_natural: also PPM)
// with the conversion and resizing after it. The contract is to throw ImageError for anything
// unusable; any other exception, a crash or a read out of bounds is a bug the fuzzer reports. A
// decoded image must have its declared size within the limits, 1 or 3 channels, and a colour
// image must have a pixel with R != G or G != B; a prepared digit must be 28x28.
#include <cstddef>
#include <cstdint>
#include <span>

#include "cnn/data/image.hpp"

namespace {

bool valid_size(std::size_t width, std::size_t height) {
  return width != 0 && height != 0 && width <= cnn::kMaxImageSide && height <= cnn::kMaxImageSide &&
         width * height <= cnn::kMaxImagePixels;
}

void check_grey(std::span<const std::uint8_t> bytes) {
  try {
    const cnn::GrayImage image = cnn::decode_image(bytes, "fuzz-input");
    if (!valid_size(image.width, image.height) ||
        image.pixels.size() != image.width * image.height) {
      __builtin_trap();
    }
    const cnn::GrayImage digit = cnn::prepare_digit(image, "fuzz-input");
    if (digit.width != 28 || digit.height != 28 || digit.pixels.size() != 28 * 28) __builtin_trap();
  } catch (const cnn::ImageError&) {
  }
}

void check_natural(std::span<const std::uint8_t> bytes) {
  cnn::Image image;
  try {
    image = cnn::decode_image_natural(bytes, "fuzz-input");
  } catch (const cnn::ImageError&) {
    return;
  }
  if ((image.channels != 1 && image.channels != 3) || !valid_size(image.width, image.height) ||
      image.pixels.size() != image.channels * image.height * image.width) {
    __builtin_trap();
  }
  if (image.channels == 3) {
    const std::size_t plane = image.height * image.width;
    bool coloured = false;
    for (std::size_t i = 0; i < plane && !coloured; ++i) {
      coloured = image.pixels[i] != image.pixels[plane + i] ||
                 image.pixels[plane + i] != image.pixels[2 * plane + i];
    }
    if (!coloured) __builtin_trap();
  }
  // Small sizes only: the fuzzer's time goes to the decoders.
  const cnn::Image grey = cnn::convert_channels(image, 1);
  const cnn::Image colour = cnn::convert_channels(grey, 3);
  const cnn::Image small = cnn::resize_image(image, 7, 5);
  const cnn::Image wide = cnn::resize_image(grey, 3, 40);
  if (grey.pixels.size() != image.height * image.width ||
      colour.pixels.size() != 3 * grey.pixels.size() ||
      small.pixels.size() != image.channels * 7 * 5 || wide.pixels.size() != 3 * 40) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_grey(std::span(data, size));
  check_natural(std::span(data, size));
  return 0;
}
