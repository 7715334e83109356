// Fuzz target for the CIFAR-10 readers: any bytes go through the batch parser (records of a label
// byte and 3072 pixel bytes) and, as text, through the class-name parser of batches.meta.txt.
// The parsers' contract is to throw DataError for anything they cannot use; any other exception,
// a crash, a read out of bounds or a result that breaks the invariants checked here is a bug the
// fuzzer reports.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cnn/data/cifar.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const cnn::LabelledImages images =
        cnn::parse_cifar_batch(std::span<const std::uint8_t>(data, size), "fuzz-input");
    if (images.labels.empty() || images.pixels.size() != images.labels.size() * 3072 ||
        images.class_names.size() != 10 ||
        std::any_of(images.labels.begin(), images.labels.end(),
                    [](std::uint8_t label) { return label > 9; })) {
      __builtin_trap();
    }
  } catch (const cnn::DataError&) {
  }
  try {
    const std::vector<std::string> names = cnn::parse_cifar_names(
        std::span<const char>(reinterpret_cast<const char*>(data), size), "fuzz-input");
    if (names.size() != 10 ||
        std::any_of(names.begin(), names.end(), [](const std::string& n) { return n.empty(); })) {
      __builtin_trap();
    }
  } catch (const cnn::DataError&) {
  }
  return 0;
}
