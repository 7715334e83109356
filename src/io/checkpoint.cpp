#include "cnn/io/checkpoint.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
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

constexpr const char* kFormat = "cnn-checkpoint";
constexpr const char* kSettingPrefix = "setting.";
constexpr const char* kOptimizerPrefix = "optimizer.";
constexpr const char* kOrderName = "sampler.order";
// Generators besides the sampler (augmentation, one per dropout layer): far more than any network
// has, few enough that a broken count cannot make the reader loop for long.
constexpr std::uint64_t kMaxRandomStreams = 4096;
// Values per input image a checkpoint may declare, as for model files: bounds what a corrupt
// header can make the loader allocate when it builds the network.
constexpr std::size_t kMaxImageValues = std::size_t{1} << 20;

std::string exact(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%a", value);
  return buffer;
}

std::string hex64(std::uint64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(value));
  return buffer;
}

// Reading: each helper throws CheckpointError through `fail`.
struct Reader {
  const std::string& name;
  const std::map<std::string, std::string>& metadata;

  CheckpointError fail(const std::string& problem) const {
    return CheckpointError(name + ": " + problem);
  }
  const std::string& text(const std::string& key) const {
    const auto it = metadata.find(key);
    if (it == metadata.end()) throw fail("__metadata__ has no '" + key + "'");
    return it->second;
  }
  std::uint64_t count(const std::string& key, int base = 10) const {
    const std::string& value = text(key);
    std::uint64_t result = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), result, base);
    if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
      throw fail("__metadata__ '" + key + "' is '" + value + "', not a count");
    }
    return result;
  }
  double real(const std::string& key) const {
    const std::string& value = text(key);
    char* end = nullptr;
    errno = 0;
    const double result = std::strtod(value.c_str(), &end);
    if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(result)) {
      throw fail("__metadata__ '" + key + "' is '" + value + "', not a finite number");
    }
    return result;
  }
  // "<w0> <w1> <w2> <w3> <spare> <has_spare>", words in hexadecimal.
  Rng::State rng(const std::string& key) const {
    const std::string& value = text(key);
    std::vector<std::string> parts;
    for (std::size_t pos = 0; pos <= value.size();) {
      const std::size_t space = std::min(value.find(' ', pos), value.size());
      parts.push_back(value.substr(pos, space - pos));
      pos = space + 1;
    }
    const auto bad = [&] {
      return fail("__metadata__ '" + key + "' is '" + value +
                  "', not four hexadecimal words, a number and 0 or 1");
    };
    if (parts.size() != 6) throw bad();
    Rng::State state;
    for (std::size_t i = 0; i < 4; ++i) {
      const std::string& part = parts[i];
      const auto [end, ec] =
          std::from_chars(part.data(), part.data() + part.size(), state.words[i], 16);
      if (part.empty() || ec != std::errc() || end != part.data() + part.size()) throw bad();
    }
    char* end = nullptr;
    state.spare_normal = std::strtod(parts[4].c_str(), &end);
    if (parts[4].empty() || end != parts[4].c_str() + parts[4].size() ||
        !std::isfinite(state.spare_normal)) {
      throw bad();
    }
    if (parts[5] != "0" && parts[5] != "1") throw bad();
    state.has_spare = parts[5] == "1";
    return state;
  }
};

Shape parse_input_shape(const Reader& r) {
  const std::string& text = r.text("input_shape");
  std::vector<std::size_t> dims;
  for (std::size_t pos = 0; pos <= text.size();) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    const std::string part = text.substr(pos, comma - pos);
    std::size_t value = 0;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (part.empty() || part.size() > 6 || ec != std::errc() || end != part.data() + part.size() ||
        value == 0) {
      throw r.fail("__metadata__ input_shape '" + text + "' is not 3 sizes such as 1,28,28");
    }
    dims.push_back(value);
    pos = comma + 1;
  }
  if (dims.size() != 3 || dims[0] * dims[1] * dims[2] > kMaxImageValues) {
    throw r.fail("__metadata__ input_shape '" + text + "' is not 3 sizes of at most " +
                 std::to_string(kMaxImageValues) + " values in all");
  }
  return Shape{dims[0], dims[1], dims[2]};
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, Sequential& model, const ModelInfo& info,
                     const TrainState& state) {
  std::map<std::string, std::string> metadata;
  for (const auto& [key, value] : info.extra) metadata[kSettingPrefix + key] = value;
  metadata["format"] = kFormat;
  metadata["preset"] = info.preset;
  try {
    metadata["architecture"] =
        info.architecture.empty() ? preset_architecture(info.preset) : info.architecture;
  } catch (const std::invalid_argument& e) {
    throw CheckpointError(path.string() + ": cannot record the architecture: " + e.what());
  }
  metadata["input_shape"] = std::to_string(info.input[0]) + "," + std::to_string(info.input[1]) +
                            "," + std::to_string(info.input[2]);
  metadata["classes"] = std::to_string(info.classes);
  metadata["iteration"] = std::to_string(state.iteration);
  metadata["images"] = std::to_string(state.images);
  metadata["loss_sum"] = exact(state.loss_sum);
  metadata["loss_count"] = std::to_string(state.loss_count);
  metadata["optimizer.steps"] = std::to_string(state.optimizer.steps);
  metadata["sampler.position"] = std::to_string(state.sampler.position);
  metadata["sampler.epoch"] = std::to_string(state.sampler.epoch);
  const auto rng_text = [](const Rng::State& rng) {
    return hex64(rng.words[0]) + " " + hex64(rng.words[1]) + " " + hex64(rng.words[2]) + " " +
           hex64(rng.words[3]) + " " + exact(rng.spare_normal) + " " + (rng.has_spare ? "1" : "0");
  };
  metadata["sampler.rng"] = rng_text(state.sampler.rng);
  metadata["random_streams"] = std::to_string(state.random_streams.size());
  for (std::size_t i = 0; i < state.random_streams.size(); ++i) {
    metadata["random_stream." + std::to_string(i)] = rng_text(state.random_streams[i]);
  }

  // The parameters and the buffers (batch normalisation's running statistics: without them such
  // a network would not resume exactly), then the optimizer state.
  std::vector<std::pair<std::string, SafetensorsTensor>> tensors = state_dict_tensors(model);
  for (const auto& [name, tensor] : state.optimizer.tensors) {
    tensors.emplace_back(kOptimizerPrefix + name, f32_entry(tensor));
  }
  tensors.push_back(
      {kOrderName,
       {"U32", {state.sampler.order.size()}, std::as_bytes(std::span(state.sampler.order))}});
  try {
    write_safetensors(path, metadata, tensors);
  } catch (const FileWriteError& e) {
    throw CheckpointError(e.what());
  }
}

Checkpoint load_checkpoint(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw CheckpointError(name + ": is a folder, not a checkpoint");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!std::filesystem::exists(path, ec)) throw CheckpointError(name + ": no such file");
    throw CheckpointError(name + ": cannot open: " + std::strerror(errno));
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  if (in.bad()) throw CheckpointError(name + ": cannot read the file");
  return parse_checkpoint(bytes, name);
}

Checkpoint parse_checkpoint(std::span<const char> bytes, const std::string& name) {
  SafetensorsContents contents;
  try {
    contents = parse_safetensors(std::as_bytes(bytes));
  } catch (const SafetensorsError& e) {
    throw CheckpointError(name + ": " + e.what());
  }
  const Reader r{name, contents.metadata};
  const auto format = contents.metadata.find("format");
  if (format == contents.metadata.end() || format->second != kFormat) {
    throw r.fail(std::string("not a checkpoint (its __metadata__ format is not \"") + kFormat +
                 "\"; a model file cannot be resumed, only a checkpoint written while training)");
  }

  Checkpoint checkpoint;
  checkpoint.info.preset = r.text("preset");
  checkpoint.info.input = parse_input_shape(r);
  const std::uint64_t classes = r.count("classes");
  if (classes == 0 || classes > 100000) {
    throw r.fail("__metadata__ classes " + std::to_string(classes) + " is not in 1..100000");
  }
  checkpoint.info.classes = classes;
  for (const auto& [key, value] : contents.metadata) {
    if (key.rfind(kSettingPrefix, 0) == 0) {
      checkpoint.info.extra[key.substr(std::strlen(kSettingPrefix))] = value;
    }
  }
  const auto architecture = contents.metadata.find("architecture");
  if (architecture != contents.metadata.end()) checkpoint.info.architecture = architecture->second;
  try {
    checkpoint.model =
        checkpoint.info.architecture.empty()
            ? make_preset(checkpoint.info.preset, checkpoint.info.input, checkpoint.info.classes)
            : build_architecture(checkpoint.info.architecture, checkpoint.info.input,
                                 checkpoint.info.classes);
  } catch (const std::exception& e) {
    throw r.fail(std::string("cannot build the architecture: ") + e.what());
  }

  // Weights and optimizer tensors.
  std::set<std::string> taken;
  try {
    taken = load_state_dict(checkpoint.model, contents.tensors);
  } catch (const SafetensorsError& e) {
    throw r.fail(e.what());
  }
  std::map<std::string, Parameter> by_name;
  for (const Parameter& p : checkpoint.model.parameters()) by_name.emplace(p.name, p);
  TrainState& state = checkpoint.state;
  for (const auto& [key, tensor] : contents.tensors) {
    if (key.rfind(kOptimizerPrefix, 0) != 0) continue;
    const std::string state_name = key.substr(std::strlen(kOptimizerPrefix));
    // "<parameter name>.<kind>" ("0.weight.momentum_buffer", "0.weight.exp_avg", ...): the
    // parameter it belongs to fixes its shape.
    const std::size_t dot = state_name.rfind('.');
    const auto param =
        dot == std::string::npos ? by_name.end() : by_name.find(state_name.substr(0, dot));
    if (param == by_name.end()) {
      throw r.fail("optimizer tensor '" + key + "' names no parameter of preset " +
                   checkpoint.info.preset);
    }
    Tensor value(param->second.value->shape());
    try {
      copy_f32_entry(key, tensor, value);
    } catch (const SafetensorsError& e) {
      throw r.fail(e.what());
    }
    state.optimizer.tensors.emplace(state_name, std::move(value));
    taken.insert(key);
  }

  // The order of the images: a permutation of 0..n-1.
  const auto order = contents.tensors.find(kOrderName);
  if (order == contents.tensors.end())
    throw r.fail(std::string("tensor '") + kOrderName + "' is missing");
  const SafetensorsTensor& o = order->second;
  if (o.dtype != "U32" || o.shape.size() != 1 || o.shape[0] == 0) {
    throw r.fail(std::string("tensor '") + kOrderName + "' is not a non-empty U32 vector");
  }
  state.sampler.order.resize(o.shape[0]);
  std::memcpy(state.sampler.order.data(), o.bytes.data(), o.bytes.size());
  std::vector<bool> seen(state.sampler.order.size(), false);
  for (const std::uint32_t index : state.sampler.order) {
    if (index >= seen.size() || seen[index]) {
      throw r.fail(std::string("tensor '") + kOrderName + "' is not a permutation of the " +
                   std::to_string(seen.size()) + " training images");
    }
    seen[index] = true;
  }
  taken.insert(kOrderName);
  for (const auto& [key, tensor] : contents.tensors) {
    if (!taken.contains(key)) {
      throw r.fail("unexpected tensor '" + key + "' for preset " + checkpoint.info.preset);
    }
  }

  state.iteration = r.count("iteration");
  state.images = r.count("images");
  state.loss_sum = r.real("loss_sum");
  state.loss_count = r.count("loss_count");
  state.optimizer.steps = r.count("optimizer.steps");
  state.sampler.position = r.count("sampler.position");
  state.sampler.epoch = r.count("sampler.epoch");
  state.sampler.rng = r.rng("sampler.rng");
  // Absent in checkpoints written before augmentation and dropout could be checkpointed: none.
  const std::uint64_t streams =
      r.metadata.contains("random_streams") ? r.count("random_streams") : 0;
  if (streams > kMaxRandomStreams) {
    throw r.fail("__metadata__ random_streams is " + std::to_string(streams) + ", more than " +
                 std::to_string(kMaxRandomStreams));
  }
  for (std::uint64_t i = 0; i < streams; ++i) {
    state.random_streams.push_back(r.rng("random_stream." + std::to_string(i)));
  }
  if (state.sampler.position > state.sampler.order.size()) {
    throw r.fail("__metadata__ sampler.position " + std::to_string(state.sampler.position) +
                 " is past the " + std::to_string(state.sampler.order.size()) + " images");
  }
  if (state.sampler.epoch == 0)
    throw r.fail("__metadata__ sampler.epoch is 0 (epochs count from 1)");
  return checkpoint;
}

}  // namespace cnn
