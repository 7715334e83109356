#include "cnn/io/model_file.hpp"

#include <zlib.h>

#include <cstdio>

#include "cnn/core/atomic_file.hpp"
#include "cnn/core/version.hpp"
#include "cnn/io/safetensors.hpp"
#include "io/model_header.hpp"
#include "io/state_dict.hpp"

namespace cnn {

namespace {

LoadedModel read_model(std::span<const char> bytes) {
  const SafetensorsContents contents = parse_container(bytes);
  read_format_version(contents.metadata);  // read_network reads what each version holds
  StoredNetwork network = read_network(contents);
  // A checkpoint has the weights too, and its optimizer state after them.
  const auto format = contents.metadata.find("format");
  const bool checkpoint = format != contents.metadata.end() && format->second == kCheckpointFormat;
  refuse_other_tensors(contents, network.taken,
                       checkpoint ? " (the file is a training checkpoint, not a model file)" : "");

  LoadedModel loaded{std::move(network.model), std::move(network.info)};
  loaded.info.extra = contents.metadata;
  for (const char* key : kModelHeaderKeys) loaded.info.extra.erase(key);
  return loaded;
}

}  // namespace

std::string data_checksum(std::span<const Dataset> parts) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (const Dataset& part : parts) {
    const std::size_t image_bytes = part.image_bytes();
    for (std::size_t i = 0; i < part.size(); ++i) {
      crc = crc32(crc, part.image(i), static_cast<uInt>(image_bytes));
    }
  }
  for (const Dataset& part : parts) {
    // (An empty part is skipped: crc32 with a null buffer returns the initial value.)
    if (part.size() == 0) continue;
    std::vector<Bytef> labels(part.size());
    for (std::size_t i = 0; i < part.size(); ++i) labels[i] = static_cast<Bytef>(part.label(i));
    crc = crc32(crc, labels.data(), static_cast<uInt>(labels.size()));
  }
  char text[16];
  std::snprintf(text, sizeof text, "crc32:%08lx", static_cast<unsigned long>(crc));
  return text;
}

void save_model(const std::filesystem::path& path, Sequential& model, const ModelInfo& info) {
  std::map<std::string, std::string> metadata = info.extra;
  try {
    write_model_header(info, kModelFormat, metadata);
  } catch (const StoredModelError& e) {
    throw ModelFileError(path.string() + ": " + e.what());
  }
  metadata[kVersionKey] = std::string(version());
  try {
    write_safetensors(path, metadata, state_dict_tensors(model));
  } catch (const FileWriteError& e) {
    throw ModelFileError(e.what());
  }
}

LoadedModel load_model(const std::filesystem::path& path) {
  return load_stored<ModelFileError>(path, "is a folder, not a model file", parse_model);
}

LoadedModel parse_model(std::span<const char> bytes, const std::string& name) {
  return parse_named<ModelFileError>(bytes, name, read_model);
}

}  // namespace cnn
