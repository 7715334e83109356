#include "cnn/io/model_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <vector>

#include "cnn/arch/architecture.hpp"
#include "cnn/arch/presets.hpp"
#include "cnn/io/safetensors.hpp"
#include "core/atomic_file.hpp"
#include "io/state_dict.hpp"

namespace cnn {

namespace {

// Values per input image (C·H·W) a model file may declare: 1M, far above MNIST's 784.
constexpr std::size_t kMaxImageValues = std::size_t{1} << 20;

// "1,28,28"
std::string shape_text(const Shape& s) {
  std::string text;
  for (std::size_t i = 0; i < s.rank(); ++i) {
    if (i > 0) text += ',';
    text += std::to_string(s[i]);
  }
  return text;
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

}  // namespace

void save_model(const std::filesystem::path& path, Sequential& model, const ModelInfo& info) {
  std::map<std::string, std::string> metadata = info.extra;
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
  try {
    write_safetensors(path, metadata, state_dict_tensors(model));
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
  SafetensorsContents contents;
  try {
    contents = parse_safetensors(std::as_bytes(bytes));
  } catch (const SafetensorsError& e) {
    throw fail(e.what());
  }

  LoadedModel loaded;
  if (contents.metadata.empty()) {
    throw fail("the header has no __metadata__ (it must give preset, input_shape and classes)");
  }
  loaded.info.extra = contents.metadata;
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

  std::set<std::string> taken;
  try {
    taken = load_state_dict(loaded.model, contents.tensors);
  } catch (const SafetensorsError& e) {
    throw fail(e.what());
  }
  for (const auto& [key, tensor] : contents.tensors) {
    if (!taken.contains(key))
      throw fail("unexpected tensor '" + key + "' for preset " + loaded.info.preset);
  }
  return loaded;
}

}  // namespace cnn
