#include "io/model_header.hpp"

#include <algorithm>
#include <string_view>
#include <vector>

#include "cnn/arch/architecture.hpp"
#include "cnn/arch/presets.hpp"
#include "cnn/core/numbers.hpp"
#include "io/state_dict.hpp"

namespace cnn {

namespace {

// Values per input image (C·H·W) a file may declare: 1M, far above MNIST's 784.
constexpr std::size_t kMaxImageValues = std::size_t{1} << 20;
// Classes a file may declare, as many as --arch's fc(N) takes.
constexpr std::size_t kMaxClasses = 100000;

const std::string& required(const std::map<std::string, std::string>& metadata,
                            const std::string& key) {
  const auto it = metadata.find(key);
  if (it == metadata.end()) {
    throw StoredModelError("__metadata__ has no '" + key + "' (needed to rebuild the network)");
  }
  return it->second;
}

std::size_t parse_classes(const std::string& text) {
  const auto classes = parse_integer<std::size_t>(text);
  // 0 and 1 are left to the network builders, which say that a network needs at least 2.
  if (!classes || *classes > kMaxClasses) {
    throw StoredModelError("bad __metadata__ classes: '" + text + "' is not a count of at most " +
                           std::to_string(kMaxClasses));
  }
  return *classes;
}

}  // namespace

std::string shape_text(const Shape& shape) {
  std::string text;
  for (std::size_t i = 0; i < shape.rank(); ++i) {
    if (i > 0) text += ',';
    text += std::to_string(shape[i]);
  }
  return text;
}

Shape parse_shape_text(const std::string& text) {
  const auto bad = [&](const std::string& problem) {
    return StoredModelError("bad __metadata__ input_shape: '" + text + "' " + problem);
  };
  std::vector<std::size_t> dims;
  for (std::size_t pos = 0; pos <= text.size();) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    const std::string_view part = std::string_view(text).substr(pos, comma - pos);
    // At most 6 digits each, so that the product of three below cannot overflow.
    const auto dim = part.size() <= 6 ? parse_integer<std::size_t>(part) : std::nullopt;
    if (!dim) throw bad("is not a list of sizes such as 1,28,28");
    if (*dim == 0) throw bad("has a size of 0");
    dims.push_back(*dim);
    pos = comma + 1;
  }
  if (dims.size() != 3) throw bad("does not have 3 sizes");
  if (dims[0] * dims[1] * dims[2] > kMaxImageValues) {
    throw bad("is larger than the " + std::to_string(kMaxImageValues) +
              " values per image supported");
  }
  return Shape{dims[0], dims[1], dims[2]};
}

void write_model_header(const ModelInfo& info, const std::string& format,
                        std::map<std::string, std::string>& metadata) {
  metadata["format_version"] = std::to_string(kFormatVersion);
  metadata["format"] = format;
  metadata["preset"] = info.preset;
  try {
    metadata["architecture"] =
        info.architecture.empty() ? preset_architecture(info.preset) : info.architecture;
  } catch (const std::invalid_argument& e) {
    throw StoredModelError(std::string("cannot record the architecture: ") + e.what());
  }
  metadata["input_shape"] = shape_text(info.input);
  metadata["classes"] = std::to_string(info.classes);
}

SafetensorsContents parse_container(std::span<const char> bytes) {
  try {
    return parse_safetensors(std::as_bytes(bytes));
  } catch (const SafetensorsError& e) {
    throw StoredModelError(e.what());
  }
}

unsigned read_format_version(const std::map<std::string, std::string>& metadata) {
  const auto it = metadata.find("format_version");
  if (it == metadata.end()) return 0;
  const auto version = parse_integer<unsigned>(it->second);
  if (!version) {
    throw StoredModelError("__metadata__ format_version '" + it->second +
                           "' is not a version number");
  }
  if (*version > kFormatVersion) {
    throw StoredModelError("format_version " + it->second +
                           " is newer than this build reads (versions 0 to " +
                           std::to_string(kFormatVersion) + "); a newer cnn wrote the file");
  }
  return *version;
}

StoredNetwork read_network(const SafetensorsContents& contents) {
  const std::map<std::string, std::string>& metadata = contents.metadata;
  if (metadata.empty()) {
    throw StoredModelError(
        "the header has no __metadata__ (it must give preset, input_shape and classes)");
  }
  StoredNetwork network;
  ModelInfo& info = network.info;
  info.preset = required(metadata, "preset");
  const std::string& input_shape = required(metadata, "input_shape");
  const std::string& classes = required(metadata, "classes");
  info.input = parse_shape_text(input_shape);
  info.classes = parse_classes(classes);
  const auto architecture = metadata.find("architecture");
  if (architecture != metadata.end()) info.architecture = architecture->second;
  try {
    network.model = info.architecture.empty()
                        ? make_preset(info.preset, info.input, info.classes)
                        : build_architecture(info.architecture, info.input, info.classes);
  } catch (const std::exception& e) {
    throw StoredModelError(std::string("cannot build the architecture: ") + e.what());
  }
  try {
    network.taken = load_state_dict(network.model, contents.tensors);
  } catch (const SafetensorsError& e) {
    throw StoredModelError(e.what());
  }
  return network;
}

void refuse_other_tensors(const SafetensorsContents& contents, const std::set<std::string>& taken,
                          const std::string& note) {
  for (const auto& [key, tensor] : contents.tensors) {
    if (!taken.contains(key)) {
      throw StoredModelError("unexpected tensor '" + key + "' for this architecture" + note);
    }
  }
}

}  // namespace cnn
