// The EXIF orientation of photos: where a JPEG (APP1 "Exif" segment) or a PNG (eXIf chunk)
// records it, and turning the decoded pixels upright. A camera or phone stores the sensor's rows
// as they were read out and records with tag 0x0112 (Orientation) how the picture must be turned
// to be seen as taken; viewers apply it, and so does the image reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cnn/data/image.hpp"

namespace cnn {

// The Orientation tag (1..8) of IFD0 of an EXIF block given as it follows the APP1 marker of a
// JPEG: "Exif\0\0" and then the TIFF structure ("II*\0" or "MM\0*"). 1 (upright, nothing to do)
// when the block is not EXIF, is damaged, has no Orientation or a value outside 1..8: a broken
// tag must not make a readable picture unreadable. Parsed by libexif.
int exif_orientation(std::span<const std::uint8_t> exif_block);

// The same for a PNG file's eXIf chunk (a bare TIFF structure, found by walking the chunks; the
// CRCs are not checked, libpng does that when it decodes); 1 when the file has none.
int png_exif_orientation(std::span<const std::uint8_t> png_file);

// `image` turned upright for EXIF orientation `orientation` (1..8; anything else is taken as 1):
//   1 as stored            2 mirrored left-right        3 turned 180 degrees
//   4 mirrored top-bottom  5 transposed (rows become columns)
//   6 turned 90 degrees clockwise   7 transverse (transposed and turned 180 degrees)
//   8 turned 90 degrees counter-clockwise
// 5 to 8 swap the width and the height. Every channel alike.
Image apply_orientation(Image image, int orientation);
GrayImage apply_orientation(GrayImage image, int orientation);

}  // namespace cnn
