// Images as bytes for `cnn serve`: the size an uploaded file declares (read from its header, so
// that a picture too large for the server is refused before a pixel is decoded) and PNG encoding
// in memory (the run's test images as the page shows them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "cnn/data/image.hpp"

namespace cnn::serve {

struct ImageSize {
  std::size_t width = 0, height = 0;
};

// The width and height a PNG (IHDR), JPEG (the first SOFn frame header) or PGM/PPM (P2, P3, P5,
// P6 header) file declares; nullopt when the bytes are none of these or the header is cut short
// or malformed (the image loader then says what is wrong). Reads only the bytes given, never
// past them.
std::optional<ImageSize> declared_image_size(std::span<const std::uint8_t> bytes);

// The image (1 or 3 channels, planar) as the bytes of an 8-bit grey or RGB PNG file. Throws
// std::invalid_argument for a malformed image, std::runtime_error when libpng fails.
std::string encode_png(const Image& image);

}  // namespace cnn::serve
