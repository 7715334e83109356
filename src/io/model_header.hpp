// What model files (model_file.hpp) and checkpoints (checkpoint.hpp) share: the __metadata__
// that describes the network (format_version, format, preset, architecture, input_shape,
// classes) written from and read back into a ModelInfo, the network rebuilt from it with its
// stored tensors, and the refusal of tensors the network does not have. Each kind of file adds
// its own keys and tensors around this; both read and check these the same way.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <span>
#include <stdexcept>
#include <string>

#include "cnn/io/model_file.hpp"
#include "cnn/io/safetensors.hpp"
#include "cnn/nn/sequential.hpp"
#include "core/whole_file.hpp"

namespace cnn {

// A problem with a stored model's contents; the message names no file. parse_model and
// parse_checkpoint add the file's name and rethrow it as their own error type.
class StoredModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The format_version this build writes and the highest it reads. Version 0 is the files written
// before there was a version (no format_version key); tests/fixtures/formats/ keeps one file of
// every version, which each later build must still read. Raise it when what the files hold
// changes, and keep reading the older versions.
inline constexpr unsigned kFormatVersion = 2;

// The "format" each kind of file records.
inline constexpr const char* kModelFormat = "cnn";
inline constexpr const char* kCheckpointFormat = "cnn-checkpoint";

// The keys write_model_header writes.
inline constexpr std::array<const char*, 12> kModelHeaderKeys = {
    "format_version",      "format",      "preset",      "architecture",
    "input_shape",         "classes",     "class_names", "preparation",
    "input_normalization", "input_scale", "input_mean",  "input_std"};

// "1,28,28" for a shape [1, 28, 28], and back (at most 1M values per image, bounding what a
// corrupt header can make the loader allocate; StoredModelError naming input_shape otherwise).
std::string shape_text(const Shape& shape);
Shape parse_shape_text(const std::string& text);

// Sets the keys of kModelHeaderKeys in metadata from info; the architecture is the preset's
// when info has none. Throws StoredModelError when neither names a network.
void write_model_header(const ModelInfo& info, const std::string& format,
                        std::map<std::string, std::string>& metadata);

// The safetensors container of bytes (SafetensorsError rethrown as StoredModelError).
SafetensorsContents parse_container(std::span<const char> bytes);

// The file's format_version: 0 when absent. Throws StoredModelError for a version that is not
// a number or is newer than kFormatVersion.
unsigned read_format_version(const std::map<std::string, std::string>& metadata);

struct StoredNetwork {
  ModelInfo info;               // everything of kModelHeaderKeys; no extra
  Sequential model;             // rebuilt, with the stored weights and buffers
  std::set<std::string> taken;  // the tensors it took (the state dict's names)
};

// Reads preset, input_shape, classes, architecture, class names, normalisation and preparation
// (for files before version 2: numbered classes, unit, preparation_for_older_files), rebuilds the
// network (the architecture when recorded, else the preset) and loads its state dict from the
// tensors. Throws StoredModelError.
StoredNetwork read_network(const SafetensorsContents& contents);

// Throws StoredModelError for the first tensor not in taken ("unexpected tensor 'x' for this
// architecture"), with `note` appended when given.
void refuse_other_tensors(const SafetensorsContents& contents, const std::set<std::string>& taken,
                          const std::string& note = "");

// parse(bytes) with its StoredModelError named after the file: "<name>: <problem>" as Error
// (ModelFileError, CheckpointError).
template <class Error, class Parse>
auto parse_named(std::span<const char> bytes, const std::string& name, Parse parse) {
  try {
    return parse(bytes);
  } catch (const StoredModelError& e) {
    throw Error(name + ": " + e.what());
  }
}

// The file at path read whole (read_whole_file, a folder told as `folder`) and given to
// parse(bytes, name); problems reading it are thrown as Error.
template <class Error, class Parse>
auto load_stored(const std::filesystem::path& path, const std::string& folder, Parse parse) {
  const std::vector<std::uint8_t> bytes = read_whole_file_as<Error>(path, {.folder = folder});
  return parse({reinterpret_cast<const char*>(bytes.data()), bytes.size()}, path.string());
}

}  // namespace cnn
