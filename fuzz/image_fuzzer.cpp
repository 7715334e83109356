// Fuzz target for the image reader of `cnn predict` (PNG through libpng, JPEG through
// libjpeg-turbo, PGM by hand) and the MNIST-style preparation after it. The contract is to throw
// ImageError for anything unusable; any other exception, a crash or a read out of bounds is a bug
// the fuzzer reports. A decoded image must have its declared size within the limits, and a
// prepared digit must be 28x28.
#include <cstddef>
#include <cstdint>
#include <span>

#include "cnn/data/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const cnn::GrayImage image = cnn::decode_image(std::span(data, size), "fuzz-input");
    if (image.width == 0 || image.height == 0 || image.width > cnn::kMaxImageSide ||
        image.height > cnn::kMaxImageSide || image.pixels.size() != image.width * image.height) {
      __builtin_trap();
    }
    const cnn::GrayImage digit = cnn::prepare_digit(image, "fuzz-input");
    if (digit.width != 28 || digit.height != 28 || digit.pixels.size() != 28 * 28) __builtin_trap();
  } catch (const cnn::ImageError&) {
  }
  return 0;
}
