// Test helpers for the io tests: a file's bytes read and written whole, and a safetensors file
// taken apart into its JSON header and its data section, to edit and join again.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cnn::testing {

using Bytes = std::vector<char>;

inline Bytes read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::filesystem::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// A safetensors file split into its JSON header and its data section.
struct Parts {
  nlohmann::json header;
  Bytes data;
};

// The header length, the file's first 8 bytes (little-endian).
inline std::uint64_t header_length(const Bytes& file) {
  std::uint64_t length = 0;
  for (int i = 7; i >= 0; --i) {
    length = (length << 8) | static_cast<std::uint8_t>(file.at(static_cast<std::size_t>(i)));
  }
  return length;
}

inline Parts split(const Bytes& file) {
  const std::uint64_t length = header_length(file);
  Parts parts;
  parts.header =
      nlohmann::json::parse(file.begin() + 8, file.begin() + 8 + static_cast<long>(length));
  parts.data.assign(file.begin() + 8 + static_cast<long>(length), file.end());
  return parts;
}

// Serialises header and data again; pad aligns the data to 8 bytes as the writer does.
inline Bytes join(const nlohmann::json& header, const Bytes& data, bool pad = true) {
  std::string text = header.dump();
  if (pad) text.append((8 - text.size() % 8) % 8, ' ');
  Bytes out;
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<char>(static_cast<std::uint64_t>(text.size()) >> (8 * i)));
  }
  out.insert(out.end(), text.begin(), text.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

}  // namespace cnn::testing
