// Reading and writing labelled images as CSV text, as Kaggle's digit-recognizer has them:
//
//   label,pixel0,pixel1,...,pixel783      <- optional header line
//   1,0,0,...,0                           <- one image per line: its label, then its pixels
//
// Format accepted by the readers:
// - Fields are separated by commas; spaces and tabs around a value are ignored. Every value is a
//   decimal integer: a label 0..255 (the class number), a pixel 0..255.
// - The first line is a header when any of its fields is not an integer (so "label,pixel0,..."
//   is one and "5,0,0,..." is not); its fields are not read further but must be as many as the
//   values of the rows below it.
// - Lines end with LF or CR LF; the last line may end with or without one, and blank lines at the
//   end are ignored (a blank line before the last image is an error). A UTF-8 byte order mark
//   at the start is skipped. The text is ASCII or UTF-8: UTF-16 (which starts with its byte order
//   mark) is refused, saying so.
// - The pixels of an image are in planar order: all of channel 0 row by row (row-major), then
//   channel 1, then channel 2. A grey image is one channel.
// - Every row has the same number of values, taken from the first row after the header.
//
// Errors: every problem is a DataError whose message starts with the file's name (the `name`
// argument of the parsers) and, where one is at fault, the line and column ("<name>: line 7,
// column 12: ..."), and says what was expected: a row with the wrong number of values, a value
// that is not an integer, a pixel or a label outside 0..255, an empty file, a header with no
// images after it, a pixel count that does not fit the image shape.
//
// Speed: the parsers read the text in place (no per-field strings, no streams); a 60,000 x 785
// CSV (Fashion-MNIST's training set, 133 MB) parses in about 0.4 s of one core.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cnn/core/tensor.hpp"
#include "cnn/data/dataset.hpp"
#include "cnn/data/idx.hpp"

namespace cnn {

// The image shape a labelled CSV holds, as the caller knows it (from --image-size HxW and
// --channels, or a model's input). Zero means "not given":
// - height and width 0: the pixels of a row must be channels (1 when 0) times a square number
//   s·s, and the images are channels x s x s (1 x 28 x 28 for Kaggle's 784 pixels).
// - height and width given: the pixels of a row must be a multiple of height·width, and the
//   channels (pixels / (height·width)) must equal `channels` when it is given, else be 1 or 3.
// Giving only one of height and width is the caller's mistake: std::invalid_argument.
struct CsvShape {
  std::size_t channels = 0, height = 0, width = 0;
};

// A CSV whose first column is the label and the rest an image's pixels. Returns images of the
// shape worked out as CsvShape says, with class_names = numbered_class_names(largest label + 1).
// `name` stands for the file in messages. (`text` is all of it: a string literal converts to a
// span with its terminating NUL, which is then an error; pass a std::string_view.)
LabelledImages parse_labelled_csv(std::span<const char> text, const std::string& name,
                                  CsvShape shape);

// Images for prediction (`cnn predict --csv`): rows of the pixels of one image of `image` =
// [C, H, W] (a model's input), C·H·W values each, or C·H·W + 1 values with a label first (as in
// a labelled CSV; Kaggle's test.csv has none). The first row after the header decides which, and
// every row must agree. Throws std::invalid_argument when `image` is not [C, H, W] of non-zero
// sizes.
struct CsvPixels {
  Shape image;                                      // [C, H, W], as given
  std::vector<std::uint8_t> pixels;                 // image after image, planar
  std::optional<std::vector<std::uint8_t>> labels;  // one per image when rows have them
  std::size_t first_line = 1;                       // line of the first image: 1, or 2
                                                    // after a header
  std::size_t size() const { return image.numel() == 0 ? 0 : pixels.size() / image.numel(); }
};
CsvPixels parse_pixel_csv(std::span<const char> text, const std::string& name, const Shape& image);

// The parsers applied to a file's text, raw or gzip-compressed (detected by content, whatever
// the name: train.csv.gz works). DataError names the file for a missing or unreadable file as
// for every problem above.
LabelledImages load_labelled_csv(const std::filesystem::path& path, CsvShape shape);
CsvPixels load_pixel_csv(const std::filesystem::path& path, const Shape& image);

// Writes images as a labelled CSV (LF line ends), with Kaggle's header "label,pixel0,pixel1,..."
// first when `header`. Throws std::invalid_argument when the images are inconsistent (image not
// [C, H, W], pixel count not images·C·H·W) and DataError naming the file on I/O errors.
void write_csv(const std::filesystem::path& path, const LabelledImages& images, bool header);

}  // namespace cnn
