// The safetensors container, independent of what the tensors mean: an 8-byte little-endian header
// length, a JSON header mapping each tensor name to its dtype, shape and byte range (plus an
// optional "__metadata__" object of strings), then the raw little-endian data. Model files and
// checkpoints are both read and written through it; state_dict.hpp puts a network's tensors in.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace cnn {

// The message says what is wrong, without the file name (the caller adds it).
class SafetensorsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SafetensorsTensor {
  std::string dtype;  // "F32", "U32", ... (see element_size)
  std::vector<std::size_t> shape;
  std::span<const std::byte> bytes;  // into the parsed buffer, or the data to write
};

struct SafetensorsContents {
  std::map<std::string, std::string> metadata;
  std::map<std::string, SafetensorsTensor> tensors;
};

// Bytes per element of a dtype the project reads or writes: F32, U32, I32 (4), F64, U64, I64
// (8), U8, I8 (1); 0 for any other.
std::size_t element_size(const std::string& dtype);

// Parses and validates the whole file: header length within the file, JSON syntax, metadata
// values all strings, every tensor with a known dtype, a shape whose byte size matches its range,
// ranges inside the data, not overlapping and covering it exactly. The tensors' bytes point into
// `bytes`. Throws SafetensorsError.
SafetensorsContents parse_safetensors(std::span<const std::byte> bytes);

// Writes the file atomically (atomic_file.hpp), tensors in the order given, the data 8-byte
// aligned. Throws FileWriteError.
void write_safetensors(const std::filesystem::path& path,
                       const std::map<std::string, std::string>& metadata,
                       const std::vector<std::pair<std::string, SafetensorsTensor>>& tensors);

}  // namespace cnn
