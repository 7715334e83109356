// Fuzz target for the decoded cache of image folders (src/data/decoded_cache.cpp). A cache file is
// outside input like any other: parse_cache must refuse anything inconsistent with nullopt and
// never crash, read out of bounds or throw. The input is parsed twice: as it is (with the key it
// names, so that the key check passes), and with its last 4 bytes replaced by the right CRC-32,
// so that the fuzzer gets past the checksum to the parsing behind it. A set that is accepted must
// be consistent.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "cnn/data/decoded_cache.hpp"

namespace {

void check(std::span<const std::uint8_t> bytes) {
  std::uint64_t key = 0;
  // The key is stored at byte 12 (after the magic and the format version), little-endian.
  if (bytes.size() >= 20) {
    for (int i = 0; i < 8; ++i) key |= std::uint64_t{bytes[12 + i]} << (8 * i);
  }
  std::string reason;
  const auto set = cnn::parse_cache(bytes, "fuzz-input", key, &reason);
  if (!set) {
    if (reason.empty()) __builtin_trap();
    return;
  }
  const cnn::LabelledImages& images = set->images;
  if (images.image.rank() != 3) __builtin_trap();
  if (images.image[0] != 1 && images.image[0] != 3) __builtin_trap();
  if (images.pixels.size() != images.labels.size() * images.image.numel()) __builtin_trap();
  if (set->files.size() != images.labels.size()) __builtin_trap();
  if (images.class_names.empty() || images.class_names.size() > cnn::kMaxClasses) __builtin_trap();
  for (const std::uint8_t label : images.labels) {
    if (label >= images.class_names.size()) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check(std::span(data, size));
  if (size >= 4) {
    std::vector<std::uint8_t> repaired(data, data + size);
    const auto crc = static_cast<std::uint32_t>(
        crc32(crc32(0L, Z_NULL, 0), repaired.data(), static_cast<uInt>(size - 4)));
    for (int i = 0; i < 4; ++i) repaired[size - 4 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
    check(repaired);
  }
  return 0;
}
