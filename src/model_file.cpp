#include "cnn/model_file.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <vector>

#include "cnn/architecture.hpp"
#include "cnn/atomic_file.hpp"
#include "cnn/presets.hpp"

namespace cnn {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian port must byte-swap here");

namespace {

using nlohmann::json;

// Far more than any header this project writes; bounds what a corrupt length can make us read.
constexpr std::uint64_t kMaxHeaderBytes = 100u << 20;
// Values per input image (C·H·W) a model file may declare: 1M, far above MNIST's 784.
constexpr std::size_t kMaxImageValues = std::size_t{1} << 20;

// "1,28,28" (sep ",") or "1, 28, 28" (sep ", ").
template <class Dims>
std::string join_sizes(const Dims& dims, std::size_t count, const char* sep) {
  std::string text;
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) text += sep;
    text += std::to_string(dims[i]);
  }
  return text;
}

std::string shape_text(const Shape& s) {
  return join_sizes(s, s.rank(), ",");
}

Shape parse_shape(const std::string& text) {
  std::vector<std::size_t> dims;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    const std::string part = text.substr(pos, comma - pos);
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos ||
        part.size() > 6) {
      throw std::invalid_argument("'" + text + "' is not a list of sizes such as 1,28,28");
    }
    dims.push_back(std::stoul(part));
    if (dims.back() == 0) throw std::invalid_argument("'" + text + "' has a size of 0");
    pos = comma + 1;
  }
  if (dims.size() != 3) throw std::invalid_argument("'" + text + "' does not have 3 sizes");
  // Bounds what a corrupt header can make the loader allocate when it builds the network.
  if (dims[0] * dims[1] * dims[2] > kMaxImageValues) {
    throw std::invalid_argument("'" + text + "' is larger than the " +
                                std::to_string(kMaxImageValues) + " values per image supported");
  }
  return Shape{dims[0], dims[1], dims[2]};
}

// A JSON array of non-negative integers (sizes or byte offsets); throws std::invalid_argument.
std::vector<std::uint64_t> unsigned_list(const json& value, const std::string& what) {
  bool ok = value.is_array();
  for (std::size_t i = 0; ok && i < value.size(); ++i) ok = value[i].is_number_unsigned();
  if (!ok) {
    throw std::invalid_argument(what + " " + value.dump() +
                                " is not a list of non-negative integers");
  }
  return value.get<std::vector<std::uint64_t>>();
}

// Every tensor the file holds, in file order: the parameters, then the buffers (as Parameters
// without gradients).
std::vector<Parameter> stored_tensors(Sequential& model) {
  std::vector<Parameter> all = model.parameters();
  for (const Buffer& b : model.buffers()) all.push_back({b.name, b.value, nullptr});
  return all;
}

}  // namespace

void save_model(const std::filesystem::path& path, Sequential& model, const ModelInfo& info) {
  json header;
  json metadata = json::object();
  for (const auto& [key, value] : info.extra) metadata[key] = value;
  metadata["format"] = "cnn";
  metadata["preset"] = info.preset;
  try {
    metadata["architecture"] =
        info.architecture.empty() ? preset_architecture(info.preset) : info.architecture;
  } catch (const std::invalid_argument& e) {
    throw ModelFileError(path.string() + ": cannot record the architecture: " + e.what());
  }
  metadata["input_shape"] = shape_text(info.input);
  metadata["classes"] = std::to_string(info.classes);
  // How pixels become the network's input (Dataset::gather): x = pixel * input_scale - input_mean.
  metadata["input_scale"] = kInputScaleText;
  metadata["input_mean"] = "0";
  header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  const std::vector<Parameter> params = stored_tensors(model);
  for (const Parameter& p : params) {
    std::vector<std::size_t> shape;
    for (std::size_t i = 0; i < p.value->shape().rank(); ++i) shape.push_back(p.value->dim(i));
    const std::uint64_t bytes = p.value->size() * sizeof(float);
    header[p.name] = {
        {"dtype", "F32"}, {"shape", shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  const std::uint64_t length = text.size();

  std::vector<std::span<const std::byte>> parts = {
      std::as_bytes(std::span(&length, 1)), std::as_bytes(std::span(text.data(), text.size()))};
  for (const Parameter& p : params) {
    parts.push_back(std::as_bytes(std::span(p.value->data(), p.value->size())));
  }
  try {
    write_file_atomically(path, parts);
  } catch (const FileWriteError& e) {
    throw ModelFileError(e.what());
  }
}

LoadedModel load_model(const std::filesystem::path& path) {
  const std::string name = path.string();
  const auto fail = [&](const std::string& problem) {
    return ModelFileError(name + ": " + problem);
  };

  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw fail("is a folder, not a model file");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!std::filesystem::exists(path, ec)) throw fail("no such file");
    throw fail(std::string("cannot open: ") + std::strerror(errno));
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  if (in.bad()) throw fail("cannot read the file");
  return parse_model(bytes, name);
}

LoadedModel parse_model(std::span<const char> bytes, const std::string& name) {
  const auto fail = [&](const std::string& problem) {
    return ModelFileError(name + ": " + problem);
  };
  if (bytes.size() < 8) {
    throw fail("too short for a safetensors file (" + std::to_string(bytes.size()) +
               " bytes, the header length alone takes 8)");
  }
  std::uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  if (header_length > kMaxHeaderBytes || header_length > bytes.size() - 8) {
    throw fail("header length " + std::to_string(header_length) + " does not fit in the " +
               std::to_string(bytes.size()) + "-byte file (not a safetensors file, or truncated)");
  }
  json header;
  try {
    header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(header_length));
  } catch (const json::exception& e) {
    throw fail(std::string("malformed JSON header: ") + e.what());
  }
  if (!header.is_object()) throw fail("the JSON header is not an object");
  const std::uint64_t data_size = bytes.size() - 8 - header_length;
  const char* data = bytes.data() + 8 + header_length;

  LoadedModel loaded;
  const auto meta = header.find("__metadata__");
  if (meta == header.end()) {
    throw fail("the header has no __metadata__ (it must give preset, input_shape and classes)");
  }
  if (!meta->is_object()) throw fail("__metadata__ is not an object of strings");
  for (const auto& [key, value] : meta->items()) {
    if (!value.is_string()) throw fail("__metadata__ '" + key + "' is not a string");
    loaded.info.extra[key] = value.get<std::string>();
  }
  const auto meta_value = [&](const std::string& key) {
    const auto it = loaded.info.extra.find(key);
    if (it == loaded.info.extra.end()) {
      throw fail("__metadata__ has no '" + key + "' (needed to rebuild the network)");
    }
    return it->second;
  };
  loaded.info.preset = meta_value("preset");
  const std::string input_shape = meta_value("input_shape");
  const std::string classes = meta_value("classes");
  try {
    loaded.info.input = parse_shape(input_shape);
  } catch (const std::exception& e) {
    throw fail(std::string("bad __metadata__ input_shape: ") + e.what());
  }
  if (classes.empty() || classes.size() > 6 ||
      classes.find_first_not_of("0123456789") != std::string::npos) {
    throw fail("bad __metadata__ classes: '" + classes + "' is not a count");
  }
  loaded.info.classes = std::stoul(classes);
  // Files written before the normalisation was recorded used the same one; a file that records
  // another cannot be run correctly by this program.
  const auto scale = loaded.info.extra.find("input_scale");
  if (scale != loaded.info.extra.end() && scale->second != kInputScaleText) {
    throw fail("__metadata__ input_scale '" + scale->second + "' is not " + kInputScaleText +
               " (1/255), the only input normalisation this program implements");
  }
  const auto mean = loaded.info.extra.find("input_mean");
  if (mean != loaded.info.extra.end() && mean->second != "0") {
    throw fail("__metadata__ input_mean '" + mean->second +
               "' is not 0, the only input normalisation this program implements");
  }
  const auto architecture = loaded.info.extra.find("architecture");
  if (architecture != loaded.info.extra.end()) loaded.info.architecture = architecture->second;
  for (const char* key : {"format", "preset", "input_shape", "classes", "input_scale", "input_mean",
                          "architecture"}) {
    loaded.info.extra.erase(key);
  }
  try {
    loaded.model =
        loaded.info.architecture.empty()
            ? make_preset(loaded.info.preset, loaded.info.input, loaded.info.classes)
            : build_architecture(loaded.info.architecture, loaded.info.input, loaded.info.classes);
  } catch (const std::exception& e) {
    throw fail(std::string("cannot build the architecture: ") + e.what());
  }

  struct Range {
    std::uint64_t begin, end;
    std::string name;
    bool operator<(const Range& other) const { return begin < other.begin; }
  };
  std::vector<Range> ranges;
  std::size_t expected_tensors = 0;
  const std::vector<Parameter> stored = stored_tensors(loaded.model);
  for (const Parameter& p : stored) {
    ++expected_tensors;
    if (!header.contains(p.name)) throw fail("tensor '" + p.name + "' is missing");
    const json& entry = header[p.name];
    const std::string tensor = "tensor '" + p.name + "'";
    for (const char* key : {"dtype", "shape", "data_offsets"}) {
      if (!entry.is_object() || !entry.contains(key)) {
        throw fail(tensor + " has no " + key + " (needs dtype, shape and data_offsets)");
      }
    }
    if (entry["dtype"] != "F32") {
      throw fail(tensor + " has dtype " + entry["dtype"].dump() + ", only F32 is supported");
    }
    std::vector<std::uint64_t> shape, offsets;
    try {
      shape = unsigned_list(entry["shape"], "shape");
      offsets = unsigned_list(entry["data_offsets"], "data_offsets");
    } catch (const std::invalid_argument& e) {
      throw fail(tensor + ": " + e.what());
    }
    if (offsets.size() != 2) {
      throw fail(tensor + ": data_offsets " + entry["data_offsets"].dump() +
                 " needs 2 values, [begin, end]");
    }
    const std::uint64_t begin = offsets[0], end = offsets[1];
    const Shape& expected = p.value->shape();
    bool same = shape.size() == expected.rank();
    for (std::size_t i = 0; same && i < shape.size(); ++i) same = shape[i] == expected[i];
    if (!same) {
      throw fail(tensor + " has shape [" + join_sizes(shape, shape.size(), ", ") +
                 "], the architecture needs " + expected.to_string());
    }
    if (begin > end || end > data_size) {
      throw fail(tensor + " byte range [" + std::to_string(begin) + ", " + std::to_string(end) +
                 ") is outside the " + std::to_string(data_size) +
                 "-byte data section (truncated file?)");
    }
    if (end - begin != p.value->size() * sizeof(float)) {
      throw fail(tensor + " byte range holds " + std::to_string(end - begin) +
                 " bytes, its shape needs " + std::to_string(p.value->size() * sizeof(float)));
    }
    std::memcpy(p.value->data(), data + begin, end - begin);
    ranges.push_back({begin, end, p.name});
  }
  if (header.size() != expected_tensors + 1) {
    for (const auto& [key, value] : header.items()) {
      bool known = key == "__metadata__";
      for (const Parameter& p : stored) known = known || p.name == key;
      if (!known) throw fail("unexpected tensor '" + key + "' for preset " + loaded.info.preset);
    }
  }
  std::stable_sort(ranges.begin(), ranges.end());
  std::uint64_t covered = 0;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    if (ranges[i].begin < covered) {
      throw fail("the byte ranges of tensors '" + ranges[i - 1].name + "' and '" + ranges[i].name +
                 "' overlap");
    }
    if (ranges[i].begin > covered) {
      throw fail("the data section has a gap at byte " + std::to_string(covered) + " (before '" +
                 ranges[i].name + "')");
    }
    covered = ranges[i].end;
  }
  if (covered != data_size) {
    throw fail(std::to_string(data_size - covered) + " bytes after the last tensor");
  }
  return loaded;
}

}  // namespace cnn
