#include "cnn/io/checkpoint.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>
#include <vector>

#include "cnn/core/atomic_file.hpp"
#include "cnn/core/numbers.hpp"
#include "cnn/io/safetensors.hpp"
#include "io/model_header.hpp"
#include "io/state_dict.hpp"

namespace cnn {

namespace {

constexpr const char* kSettingPrefix = "setting.";
constexpr const char* kOptimizerPrefix = "optimizer.";
constexpr const char* kOrderName = "sampler.order";
constexpr const char* kExtraPrefix = "run.";
constexpr const char* kBestPrefix = "best.";
// Generators besides the sampler (augmentation, one per dropout layer): far more than any network
// has, few enough that a broken count cannot make the reader loop for long.
constexpr std::uint64_t kMaxRandomStreams = 4096;

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

// Reading the run's numbers from __metadata__; each helper throws StoredModelError.
struct Reader {
  const std::map<std::string, std::string>& metadata;

  static StoredModelError fail(const std::string& problem) { return StoredModelError(problem); }
  const std::string& text(const std::string& key) const {
    const auto it = metadata.find(key);
    if (it == metadata.end()) throw fail("__metadata__ has no '" + key + "'");
    return it->second;
  }
  std::uint64_t count(const std::string& key) const {
    const std::string& value = text(key);
    const auto result = parse_integer<std::uint64_t>(value);
    if (!result) throw fail("__metadata__ '" + key + "' is '" + value + "', not a count");
    return *result;
  }
  double real(const std::string& key) const {
    const std::string& value = text(key);
    const auto result = parse_finite(value);
    if (!result) throw fail("__metadata__ '" + key + "' is '" + value + "', not a finite number");
    return *result;
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
      const auto word = parse_integer<std::uint64_t>(parts[i], 16);
      if (!word) throw bad();
      state.words[i] = *word;
    }
    const auto spare = parse_finite(parts[4]);
    if (!spare || (parts[5] != "0" && parts[5] != "1")) throw bad();
    state.spare_normal = *spare;
    state.has_spare = parts[5] == "1";
    return state;
  }
};

// The optimizer's tensors, "optimizer.<parameter name>.<kind>" ("optimizer.0.weight.exp_avg"):
// the parameter each belongs to fixes its shape.
void read_optimizer_tensors(const SafetensorsContents& contents, Sequential& model,
                            OptimizerState& optimizer, std::set<std::string>& taken) {
  std::map<std::string, Parameter> by_name;
  for (const Parameter& p : model.parameters()) by_name.emplace(p.name, p);
  for (const auto& [key, tensor] : contents.tensors) {
    if (key.rfind(kOptimizerPrefix, 0) != 0) continue;
    const std::string state_name = key.substr(std::strlen(kOptimizerPrefix));
    const std::size_t dot = state_name.rfind('.');
    const auto param =
        dot == std::string::npos ? by_name.end() : by_name.find(state_name.substr(0, dot));
    if (param == by_name.end()) {
      throw StoredModelError("optimizer tensor '" + key +
                             "' names no parameter of this architecture");
    }
    Tensor value(param->second.value->shape());
    try {
      copy_f32_entry(key, tensor, value);
    } catch (const SafetensorsError& e) {
      throw StoredModelError(e.what());
    }
    optimizer.tensors.emplace(state_name, std::move(value));
    taken.insert(key);
  }
}

// The best weights, "best.<state_dict name>": every parameter and buffer of the model, shaped
// alike, or none at all.
void read_best_tensors(const SafetensorsContents& contents, Sequential& model,
                       std::map<std::string, Tensor>& best, std::set<std::string>& taken) {
  std::vector<std::pair<std::string, const Tensor*>> expected;
  for (const Parameter& p : model.parameters()) expected.emplace_back(p.name, p.value);
  for (const Buffer& b : model.buffers()) expected.emplace_back(b.name, b.value);
  std::size_t present = 0;
  for (const auto& [name, tensor] : expected) {
    present += contents.tensors.contains(kBestPrefix + name) ? 1 : 0;
  }
  if (present == 0) return;
  for (const auto& [name, tensor] : expected) {
    const std::string key = kBestPrefix + name;
    const auto stored = contents.tensors.find(key);
    if (stored == contents.tensors.end()) {
      throw StoredModelError("tensor '" + key + "' is missing (the best weights are incomplete)");
    }
    Tensor value(tensor->shape());
    try {
      copy_f32_entry(key, stored->second, value);
    } catch (const SafetensorsError& e) {
      throw StoredModelError(e.what());
    }
    best.emplace(name, std::move(value));
    taken.insert(key);
  }
}

// The order of the images: a permutation of 0..n-1.
std::vector<std::uint32_t> read_order(const SafetensorsContents& contents) {
  const std::string tensor = std::string("tensor '") + kOrderName + "'";
  const auto stored = contents.tensors.find(kOrderName);
  if (stored == contents.tensors.end()) throw StoredModelError(tensor + " is missing");
  const SafetensorsTensor& o = stored->second;
  if (o.dtype != "U32" || o.shape.size() != 1 || o.shape[0] == 0) {
    throw StoredModelError(tensor + " is not a non-empty U32 vector");
  }
  std::vector<std::uint32_t> order(o.shape[0]);
  std::memcpy(order.data(), o.bytes.data(), o.bytes.size());
  std::vector<bool> seen(order.size(), false);
  for (const std::uint32_t index : order) {
    if (index >= seen.size() || seen[index]) {
      throw StoredModelError(tensor + " is not a permutation of the " +
                             std::to_string(seen.size()) + " training images");
    }
    seen[index] = true;
  }
  return order;
}

// Where the run stands: the counters, the loss report in progress and the generators. The
// sampler's order must be read already (the position is checked against it).
void read_progress(const Reader& r, TrainState& state) {
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
  if (state.sampler.epoch == 0) {
    throw r.fail("__metadata__ sampler.epoch is 0 (epochs count from 1)");
  }
}

Checkpoint read_checkpoint(std::span<const char> bytes) {
  const SafetensorsContents contents = parse_container(bytes);
  read_format_version(contents.metadata);  // versions 0 and 1 hold the same keys
  const auto format = contents.metadata.find("format");
  if (format == contents.metadata.end() || format->second != kCheckpointFormat) {
    throw StoredModelError(
        std::string("not a checkpoint (its __metadata__ format is not \"") + kCheckpointFormat +
        "\"; a model file cannot be resumed, only a checkpoint written while training)");
  }
  StoredNetwork network = read_network(contents);
  Checkpoint checkpoint{std::move(network.info), std::move(network.model), {}, {}};
  for (const auto& [key, value] : contents.metadata) {
    if (key.rfind(kSettingPrefix, 0) == 0) {
      checkpoint.info.extra[key.substr(std::strlen(kSettingPrefix))] = value;
    } else if (key.rfind(kExtraPrefix, 0) == 0) {
      checkpoint.extras.values[key.substr(std::strlen(kExtraPrefix))] = value;
    }
  }
  TrainState& state = checkpoint.state;
  read_optimizer_tensors(contents, checkpoint.model, state.optimizer, network.taken);
  state.sampler.order = read_order(contents);
  network.taken.insert(kOrderName);
  read_best_tensors(contents, checkpoint.model, checkpoint.extras.best, network.taken);
  refuse_other_tensors(contents, network.taken);
  read_progress(Reader{contents.metadata}, state);
  return checkpoint;
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, Sequential& model, const ModelInfo& info,
                     const TrainState& state, const CheckpointExtras& extras) {
  std::map<std::string, std::string> metadata;
  for (const auto& [key, value] : info.extra) metadata[kSettingPrefix + key] = value;
  for (const auto& [key, value] : extras.values) metadata[kExtraPrefix + key] = value;
  try {
    write_model_header(info, kCheckpointFormat, metadata);
  } catch (const StoredModelError& e) {
    throw CheckpointError(path.string() + ": " + e.what());
  }
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
  for (const auto& [name, tensor] : extras.best) {
    tensors.emplace_back(kBestPrefix + name, f32_entry(tensor));
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
  return load_stored<CheckpointError>(path, "is a folder, not a checkpoint", parse_checkpoint);
}

Checkpoint parse_checkpoint(std::span<const char> bytes, const std::string& name) {
  return parse_named<CheckpointError>(bytes, name, read_checkpoint);
}

}  // namespace cnn
