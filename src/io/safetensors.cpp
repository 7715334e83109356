#include "cnn/io/safetensors.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>

#include "cnn/core/atomic_file.hpp"

namespace cnn {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian port must byte-swap here");

namespace {

using nlohmann::json;

// Far more than any header this project writes; bounds what a corrupt length can make us parse.
constexpr std::uint64_t kMaxHeaderBytes = 100u << 20;

std::vector<std::uint64_t> unsigned_list(const json& value, const std::string& what) {
  bool ok = value.is_array();
  for (std::size_t i = 0; ok && i < value.size(); ++i) ok = value[i].is_number_unsigned();
  if (!ok)
    throw SafetensorsError(what + " " + value.dump() + " is not a list of non-negative integers");
  return value.get<std::vector<std::uint64_t>>();
}

// The JSON header, its length checked against the file; `data` is set to the data section.
json parse_header(std::span<const std::byte> bytes, std::span<const std::byte>& data) {
  if (bytes.size() < 8) {
    throw SafetensorsError("too short for a safetensors file (" + std::to_string(bytes.size()) +
                           " bytes, the header length alone takes 8)");
  }
  std::uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  if (header_length > kMaxHeaderBytes || header_length > bytes.size() - 8) {
    throw SafetensorsError("header length " + std::to_string(header_length) +
                           " does not fit in the " + std::to_string(bytes.size()) +
                           "-byte file (not a safetensors file, or truncated)");
  }
  const auto* text = reinterpret_cast<const char*>(bytes.data()) + 8;
  json header;
  try {
    header = json::parse(text, text + header_length);
  } catch (const json::exception& e) {
    throw SafetensorsError(std::string("malformed JSON header: ") + e.what());
  }
  if (!header.is_object()) throw SafetensorsError("the JSON header is not an object");
  data = bytes.subspan(8 + header_length);
  return header;
}

std::map<std::string, std::string> read_metadata(const json& entry) {
  if (!entry.is_object()) throw SafetensorsError("__metadata__ is not an object of strings");
  std::map<std::string, std::string> metadata;
  for (const auto& [key, value] : entry.items()) {
    if (!value.is_string()) throw SafetensorsError("__metadata__ '" + key + "' is not a string");
    metadata[key] = value.get<std::string>();
  }
  return metadata;
}

struct Range {
  std::uint64_t begin, end;
  std::string name;
};

// One tensor's entry: a known dtype, a byte range inside the data that its dtype and shape fill
// exactly. Returns the tensor, its bytes pointing into data.
SafetensorsTensor read_tensor(const std::string& name, const json& entry,
                              std::span<const std::byte> data, Range& range) {
  const std::string tensor = "tensor '" + name + "'";
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!entry.is_object() || !entry.contains(key)) {
      throw SafetensorsError(tensor + " has no " + key + " (needs dtype, shape and data_offsets)");
    }
  }
  const json& dtype = entry["dtype"];
  if (!dtype.is_string() || element_size(dtype.get<std::string>()) == 0) {
    throw SafetensorsError(tensor + " has dtype " + dtype.dump() +
                           ", not one of F32, U32, I32, F64, U64, I64, U8, I8");
  }
  const std::vector<std::uint64_t> shape = unsigned_list(entry["shape"], tensor + " shape");
  const std::vector<std::uint64_t> offsets =
      unsigned_list(entry["data_offsets"], tensor + " data_offsets");
  if (offsets.size() != 2) {
    throw SafetensorsError(tensor + ": data_offsets " + entry["data_offsets"].dump() +
                           " needs 2 values, [begin, end]");
  }
  const std::uint64_t begin = offsets[0], end = offsets[1];
  if (begin > end || end > data.size()) {
    throw SafetensorsError(tensor + " byte range [" + std::to_string(begin) + ", " +
                           std::to_string(end) + ") is outside the " + std::to_string(data.size()) +
                           "-byte data section (truncated file?)");
  }
  std::uint64_t expected = element_size(dtype.get<std::string>());
  for (const std::uint64_t dim : shape) {
    if (__builtin_mul_overflow(expected, dim, &expected)) expected = UINT64_MAX;
  }
  if (end - begin != expected) {
    throw SafetensorsError(tensor + " byte range holds " + std::to_string(end - begin) +
                           " bytes, its dtype and shape need " +
                           (expected == UINT64_MAX ? "more than 2^64" : std::to_string(expected)));
  }
  range = {begin, end, name};
  return {dtype.get<std::string>(), std::vector<std::size_t>(shape.begin(), shape.end()),
          data.subspan(begin, end - begin)};
}

// The tensors' byte ranges neither overlap nor leave a gap, and cover the data exactly.
void check_coverage(std::vector<Range> ranges, std::uint64_t data_size) {
  std::stable_sort(ranges.begin(), ranges.end(),
                   [](const Range& a, const Range& b) { return a.begin < b.begin; });
  std::uint64_t covered = 0;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    if (ranges[i].begin < covered) {
      throw SafetensorsError("the byte ranges of tensors '" + ranges[i - 1].name + "' and '" +
                             ranges[i].name + "' overlap");
    }
    if (ranges[i].begin > covered) {
      throw SafetensorsError("the data section has a gap at byte " + std::to_string(covered) +
                             " (before '" + ranges[i].name + "')");
    }
    covered = ranges[i].end;
  }
  if (covered != data_size) {
    throw SafetensorsError(std::to_string(data_size - covered) + " bytes after the last tensor");
  }
}

}  // namespace

std::size_t element_size(const std::string& dtype) {
  if (dtype == "F32" || dtype == "U32" || dtype == "I32") return 4;
  if (dtype == "F64" || dtype == "U64" || dtype == "I64") return 8;
  if (dtype == "U8" || dtype == "I8") return 1;
  return 0;
}

SafetensorsContents parse_safetensors(std::span<const std::byte> bytes) {
  std::span<const std::byte> data;
  const json header = parse_header(bytes, data);
  SafetensorsContents contents;
  std::vector<Range> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      contents.metadata = read_metadata(entry);
      continue;
    }
    ranges.emplace_back();
    contents.tensors[name] = read_tensor(name, entry, data, ranges.back());
  }
  check_coverage(std::move(ranges), data.size());
  return contents;
}

void write_safetensors(const std::filesystem::path& path,
                       const std::map<std::string, std::string>& metadata,
                       const std::vector<std::pair<std::string, SafetensorsTensor>>& tensors) {
  json header;
  header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  std::vector<std::span<const std::byte>> parts(2);
  for (const auto& [name, tensor] : tensors) {
    header[name] = {{"dtype", tensor.dtype},
                    {"shape", tensor.shape},
                    {"data_offsets", {offset, offset + tensor.bytes.size()}}};
    offset += tensor.bytes.size();
    parts.push_back(tensor.bytes);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  const std::uint64_t length = text.size();
  parts[0] = std::as_bytes(std::span(&length, 1));
  parts[1] = std::as_bytes(std::span(text.data(), text.size()));
  write_file_atomically(path, parts);
}

}  // namespace cnn
