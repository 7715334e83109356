#include "io/model_header.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
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

// The numbers of a comma-separated list ("0.4914,0.4822,0.4465"), each finite.
std::vector<float> parse_float_list(const std::string& key, const std::string& text) {
  std::vector<float> values;
  for (std::size_t pos = 0; pos <= text.size() && values.size() <= 4096;) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    const std::string part = text.substr(pos, comma - pos);
    char* end = nullptr;
    const float value = part.empty() ? NAN : std::strtof(part.c_str(), &end);
    if (part.empty() || end != part.c_str() + part.size() || !std::isfinite(value)) {
      throw StoredModelError("bad __metadata__ " + key + ": '" + text +
                             "' is not a list of numbers such as 0.5,0.25");
    }
    values.push_back(value);
    pos = comma + 1;
  }
  return values;
}

std::string float_list_text(const std::vector<float>& values) {
  std::string text;
  char number[32];
  for (std::size_t i = 0; i < values.size(); ++i) {
    // 9 significant digits: the float comes back bit for bit.
    std::snprintf(number, sizeof number, "%s%.9g", i == 0 ? "" : ",",
                  static_cast<double>(values[i]));
    text += number;
  }
  return text;
}

// The value of key: absent or one of `accepted`.
void require_text(const std::map<std::string, std::string>& metadata, const std::string& key,
                  const std::vector<std::string>& accepted, const std::string& why) {
  const auto it = metadata.find(key);
  if (it == metadata.end()) return;
  if (std::find(accepted.begin(), accepted.end(), it->second) == accepted.end()) {
    throw StoredModelError("__metadata__ " + key + " '" + it->second + "' is not " +
                           accepted.front() + why);
  }
}

Normalization read_normalization(const std::map<std::string, std::string>& metadata,
                                 std::size_t channels) {
  const auto kind_text = metadata.find("input_normalization");
  if (kind_text == metadata.end()) {
    // Before format version 2: unit, the only one there was.
    const std::string only =
        " (1/255), the only input normalisation of files without "
        "input_normalization";
    require_text(metadata, "input_scale", {kInputScaleText}, only);
    require_text(metadata, "input_mean", {"0"},
                 ", the only input normalisation of files without input_normalization");
    require_text(metadata, "input_std", {"1"},
                 ", the only input normalisation of files without input_normalization");
    return Normalization::unit();
  }
  const auto kind = parse_normalization_kind(kind_text->second);
  if (!kind) {
    throw StoredModelError("__metadata__ input_normalization '" + kind_text->second +
                           "' is not none, unit or standard");
  }
  const std::string scale = *kind == NormalizationKind::none ? "1" : kInputScaleText;
  require_text(metadata, "input_scale", {scale},
               " as input_normalization " + kind_text->second + " requires");
  if (*kind != NormalizationKind::standard) {
    require_text(metadata, "input_mean", {"0"},
                 " as input_normalization " + kind_text->second + " requires");
    require_text(metadata, "input_std", {"1"},
                 " as input_normalization " + kind_text->second + " requires");
    return *kind == NormalizationKind::none ? Normalization::none() : Normalization::unit();
  }
  std::vector<float> mean = parse_float_list("input_mean", required(metadata, "input_mean"));
  std::vector<float> stddev = parse_float_list("input_std", required(metadata, "input_std"));
  // One value stands for every channel.
  if (mean.size() == 1) mean.assign(channels, mean[0]);
  if (stddev.size() == 1) stddev.assign(channels, stddev[0]);
  if (mean.size() != channels || stddev.size() != channels) {
    throw StoredModelError("__metadata__ input_mean and input_std need 1 or " +
                           std::to_string(channels) + " values (the input's channels), got " +
                           std::to_string(mean.size()) + " and " + std::to_string(stddev.size()));
  }
  try {
    return Normalization::standard(std::move(mean), std::move(stddev));
  } catch (const std::invalid_argument& e) {
    throw StoredModelError(std::string("bad __metadata__ input normalisation: ") + e.what());
  }
}

void write_normalization(const Normalization& normalization,
                         std::map<std::string, std::string>& metadata) {
  metadata["input_normalization"] = normalization_name(normalization.kind());
  metadata["input_scale"] =
      std::string(normalization.kind() == NormalizationKind::none ? "1" : kInputScaleText);
  if (normalization.kind() == NormalizationKind::standard) {
    std::vector<float> mean, stddev;
    for (std::size_t c = 0; c < normalization.channels(); ++c) {
      mean.push_back(normalization.mean(c));
      stddev.push_back(normalization.stddev(c));
    }
    metadata["input_mean"] = float_list_text(mean);
    metadata["input_std"] = float_list_text(stddev);
  } else {
    metadata["input_mean"] = std::string("0");
    metadata["input_std"] = std::string("1");
  }
}

std::vector<std::string> read_class_names(const std::map<std::string, std::string>& metadata,
                                          std::size_t classes) {
  const auto it = metadata.find("class_names");
  if (it == metadata.end()) return {};
  const nlohmann::json names =
      nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  if (!names.is_array() || names.size() != classes ||
      !std::all_of(names.begin(), names.end(), [](const nlohmann::json& name) {
        return name.is_string() && !name.get_ref<const std::string&>().empty();
      })) {
    throw StoredModelError("bad __metadata__ class_names: expected a JSON array of " +
                           std::to_string(classes) + " non-empty names (the classes)");
  }
  return names.get<std::vector<std::string>>();
}

}  // namespace

std::string preparation_name(Preparation preparation) {
  return preparation == Preparation::digit ? "digit" : "resize";
}

std::optional<Preparation> parse_preparation(std::string_view text) {
  if (text == "digit") return Preparation::digit;
  if (text == "resize") return Preparation::resize;
  return std::nullopt;
}

Preparation preparation_for_older_files(const Shape& input) {
  return input == Shape{1, 28, 28} ? Preparation::digit : Preparation::resize;
}

std::vector<std::string> ModelInfo::names() const {
  return class_names.empty() ? numbered_class_names(classes) : class_names;
}

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
  if (!info.class_names.empty() && info.class_names.size() != info.classes) {
    throw StoredModelError("cannot record " + std::to_string(info.class_names.size()) +
                           " class names for " + std::to_string(info.classes) + " classes");
  }
  metadata["class_names"] = nlohmann::json(info.names()).dump();
  if (info.input.rank() == 3 && !info.normalization.fits(info.input[0])) {
    throw StoredModelError("cannot record a normalisation of " +
                           std::to_string(info.normalization.channels()) + " channels for input " +
                           info.input.to_string());
  }
  write_normalization(info.normalization, metadata);
  metadata["preparation"] = preparation_name(info.preparation);
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
  // After the network and its tensors: a file whose classes or input do not fit them says that
  // first.
  info.class_names = read_class_names(metadata, info.classes);
  info.normalization = read_normalization(metadata, info.input[0]);
  const auto preparation = metadata.find("preparation");
  if (preparation == metadata.end()) {
    info.preparation = preparation_for_older_files(info.input);
  } else if (const auto parsed = parse_preparation(preparation->second)) {
    info.preparation = *parsed;
  } else {
    throw StoredModelError("__metadata__ preparation '" + preparation->second +
                           "' is not digit or resize");
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
