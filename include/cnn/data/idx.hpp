// Reading and writing IDX files, the format of MNIST (raw or gzip-compressed).
//
// Layout (big-endian): 2 zero bytes, a type byte (0x08 = unsigned byte), a rank byte, one u32 per
// dimension, then the data. Images: magic 0x00000803, dims count×rows×cols. Labels: magic
// 0x00000801, dims count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace cnn {

// A data file that cannot be used; the message names the file and what is wrong with it.
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct IdxImages {
  std::size_t count = 0, rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  // count·rows·cols bytes, image after image, row-major
};

// Read a file whole, decompressing it when it starts with the gzip signature (whatever its name).
// Throws DataError for a missing or unreadable file or a corrupt gzip stream.
std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path);

// Throw DataError (naming the file) for: missing/unreadable file, header too short, wrong magic,
// zero images or zero-sized images, truncated data, trailing bytes.
IdxImages read_idx_images(const std::filesystem::path& path);
std::vector<std::uint8_t> read_idx_labels(const std::filesystem::path& path);

// The same checks on bytes already in memory (decompressed first when they start with the gzip
// signature); `name` stands for the file in messages. The readers above are these applied to the
// file's bytes; the fuzz targets in fuzz/ call these directly.
std::vector<std::uint8_t> decode_file_bytes(std::vector<std::uint8_t> bytes,
                                            const std::string& name);
IdxImages parse_idx_images(std::vector<std::uint8_t> bytes, const std::string& name);
std::vector<std::uint8_t> parse_idx_labels(std::vector<std::uint8_t> bytes,
                                           const std::string& name);

// Writers, used by tests and tools; gzip=true writes a .gz stream. Throw DataError on I/O errors.
void write_idx_images(const std::filesystem::path& path, const IdxImages& images, bool gzip);
void write_idx_labels(const std::filesystem::path& path, std::span<const std::uint8_t> labels,
                      bool gzip);

}  // namespace cnn
