// Fuzz target for the IDX reader: any bytes, raw or gzip-compressed (the reader inflates input
// that starts with the gzip signature), go through both the image and the label parser. The
// parsers' contract is to throw DataError for anything they cannot use; any other exception, a
// crash or a read out of bounds is a bug the fuzzer reports.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cnn/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> bytes(data, data + size);
  try {
    const cnn::IdxImages images = cnn::parse_idx_images(bytes, "fuzz-input");
    // What the dataset relies on: exactly count·rows·cols pixels.
    if (images.pixels.size() != images.count * images.rows * images.cols) __builtin_trap();
  } catch (const cnn::DataError&) {
  }
  try {
    const std::vector<std::uint8_t> labels = cnn::parse_idx_labels(bytes, "fuzz-input");
    if (labels.empty()) __builtin_trap();
  } catch (const cnn::DataError&) {
  }
  return 0;
}
