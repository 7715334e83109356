#include "data/image_orientation.hpp"

#include <libexif/exif-data.h>
#include <libexif/exif-utils.h>

#include <cstring>
#include <utility>
#include <vector>

namespace cnn {

int exif_orientation(std::span<const std::uint8_t> exif_block) {
  static constexpr std::uint8_t kExifHeader[6] = {'E', 'x', 'i', 'f', 0, 0};
  // libexif would otherwise search the bytes for JPEG markers; only a real EXIF block is parsed.
  if (exif_block.size() < sizeof kExifHeader + 8 ||
      std::memcmp(exif_block.data(), kExifHeader, sizeof kExifHeader) != 0) {
    return 1;
  }
  ExifData* data = exif_data_new();
  if (data == nullptr) return 1;
  // Read only: no tags added or "fixed" to follow the specification, unknown tags skipped.
  exif_data_unset_option(data, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
  exif_data_set_option(data, EXIF_DATA_OPTION_IGNORE_UNKNOWN_TAGS);
  exif_data_load_data(data, exif_block.data(), static_cast<unsigned int>(exif_block.size()));
  int orientation = 1;
  // IFD0 describes the main image; IFD1 (the thumbnail) may carry a tag of its own.
  const ExifEntry* entry = exif_content_get_entry(data->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
  if (entry != nullptr && entry->format == EXIF_FORMAT_SHORT && entry->components >= 1 &&
      entry->data != nullptr && entry->size >= 2) {
    const ExifShort value = exif_get_short(entry->data, exif_data_get_byte_order(data));
    if (value >= 1 && value <= 8) orientation = value;
  }
  exif_data_unref(data);
  return orientation;
}

int png_exif_orientation(std::span<const std::uint8_t> png_file) {
  // Chunks after the 8-byte signature: length (4 bytes, big-endian), type (4), data, CRC (4).
  std::size_t pos = 8;
  while (pos + 12 <= png_file.size()) {
    const std::uint8_t* chunk = png_file.data() + pos;
    const std::size_t length = (std::size_t{chunk[0]} << 24) | (std::size_t{chunk[1]} << 16) |
                               (std::size_t{chunk[2]} << 8) | chunk[3];
    if (length > png_file.size() - pos - 12) return 1;  // truncated: libpng reports it
    if (std::memcmp(chunk + 4, "eXIf", 4) == 0) {
      std::vector<std::uint8_t> block = {'E', 'x', 'i', 'f', 0, 0};
      block.insert(block.end(), chunk + 8, chunk + 8 + length);
      return exif_orientation(block);
    }
    if (std::memcmp(chunk + 4, "IEND", 4) == 0) return 1;
    pos += length + 12;
  }
  return 1;
}

namespace {

// The planes of `pixels` (channels planes of height x width) turned: the pixel at (x, y) of the
// result comes from source(x, y) of the stored image.
template <typename Source>
std::vector<std::uint8_t> remap(const std::vector<std::uint8_t>& pixels, std::size_t channels,
                                std::size_t height, std::size_t width, std::size_t out_height,
                                std::size_t out_width, Source source) {
  std::vector<std::uint8_t> out(pixels.size());
  for (std::size_t c = 0; c < channels; ++c) {
    const std::uint8_t* in = pixels.data() + c * height * width;
    std::uint8_t* to = out.data() + c * out_height * out_width;
    for (std::size_t y = 0; y < out_height; ++y) {
      for (std::size_t x = 0; x < out_width; ++x) {
        const auto [sx, sy] = source(x, y);
        to[y * out_width + x] = in[sy * width + sx];
      }
    }
  }
  return out;
}

using Pair = std::pair<std::size_t, std::size_t>;

}  // namespace

Image apply_orientation(Image image, int orientation) {
  if (orientation < 2 || orientation > 8) return image;
  const std::size_t w = image.width, h = image.height;
  const bool swaps = orientation >= 5;
  const std::size_t ow = swaps ? h : w, oh = swaps ? w : h;
  const auto turn = [&](auto source) {
    return remap(image.pixels, image.channels, h, w, oh, ow, source);
  };
  std::vector<std::uint8_t> out;
  switch (orientation) {
    case 2:
      out = turn([&](std::size_t x, std::size_t y) { return Pair{w - 1 - x, y}; });
      break;
    case 3:
      out = turn([&](std::size_t x, std::size_t y) { return Pair{w - 1 - x, h - 1 - y}; });
      break;
    case 4:
      out = turn([&](std::size_t x, std::size_t y) { return Pair{x, h - 1 - y}; });
      break;
    case 5:
      out = turn([&](std::size_t x, std::size_t y) { return Pair{y, x}; });
      break;
    case 6:
      out = turn([&](std::size_t x, std::size_t y) { return Pair{y, h - 1 - x}; });
      break;
    case 7:
      out = turn([&](std::size_t x, std::size_t y) { return Pair{w - 1 - y, h - 1 - x}; });
      break;
    default:  // 8
      out = turn([&](std::size_t x, std::size_t y) { return Pair{w - 1 - y, x}; });
      break;
  }
  return Image{image.channels, oh, ow, std::move(out)};
}

GrayImage apply_orientation(GrayImage image, int orientation) {
  if (orientation < 2 || orientation > 8) return image;
  Image turned =
      apply_orientation(Image{1, image.height, image.width, std::move(image.pixels)}, orientation);
  return GrayImage{turned.width, turned.height, std::move(turned.pixels)};
}

}  // namespace cnn
