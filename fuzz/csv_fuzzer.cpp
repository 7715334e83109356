// Fuzz target for the CSV readers: any bytes go through the labelled-image parser (with no shape,
// a height and width, and channels alone) and through the prediction parser (grey and colour
// image shapes). The parsers' contract is to throw DataError for anything they cannot use; any
// other exception, a crash, a read out of bounds or a result that breaks the invariants checked
// here is a bug the fuzzer reports.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "cnn/data/csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const char> text(reinterpret_cast<const char*>(data), size);
  for (const cnn::CsvShape shape :
       {cnn::CsvShape{}, cnn::CsvShape{0, 2, 2}, cnn::CsvShape{3, 0, 0}}) {
    try {
      const cnn::LabelledImages images = cnn::parse_labelled_csv(text, "fuzz-input", shape);
      // What a Dataset relies on: images of [C, H, W], one label each, a class for every label.
      if (images.image.rank() != 3 || images.image.numel() == 0 || images.labels.empty() ||
          images.pixels.size() != images.labels.size() * images.image.numel()) {
        __builtin_trap();
      }
      const std::uint8_t largest = *std::max_element(images.labels.begin(), images.labels.end());
      if (images.class_names.size() != std::size_t{largest} + 1) __builtin_trap();
    } catch (const cnn::DataError&) {
    }
  }
  for (const cnn::Shape& image : {cnn::Shape{1, 2, 2}, cnn::Shape{3, 1, 2}}) {
    try {
      const cnn::CsvPixels pixels = cnn::parse_pixel_csv(text, "fuzz-input", image);
      if (pixels.pixels.empty() || pixels.pixels.size() % image.numel() != 0) __builtin_trap();
      if (pixels.labels && pixels.labels->size() != pixels.size()) __builtin_trap();
      if (pixels.first_line != 1 && pixels.first_line != 2) __builtin_trap();
    } catch (const cnn::DataError&) {
    }
  }
  return 0;
}
