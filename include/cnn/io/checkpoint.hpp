// Training checkpoints, so that a run stopped by a crash, a kill or Ctrl-C continues exactly
// where it was: a resumed run ends with the same weights, bit for bit, as one never stopped
// (same seed and thread count).
//
// The file is a safetensors file (safetensors.hpp), written atomically (atomic_file.hpp):
//   "<layer>.<name>"              F32  the weights and buffers, named and shaped as in a model file
//   "optimizer.<state name>"      F32  the optimizer's tensors ("optimizer.0.weight.exp_avg")
//   "sampler.order"               U32  the current epoch's order of the training images
//   __metadata__                       format_version (as for model files), format
//                                      "cnn-checkpoint", preset, architecture, input_shape,
//                                      classes, iteration, images, loss_sum, loss_count,
//                                      optimizer.steps, sampler.position, sampler.epoch,
//                                      sampler.rng, the run's settings as "setting.<name>", and
//                                      what the program adds as "run.<name>" (optional)
//   "best.<layer>.<name>"         F32  optional: the weights and buffers of the best evaluation so
//                                      far (cnn train --keep-best), named as the model's
// Doubles and generator words are written exactly (hexadecimal), so nothing is rounded.
#pragma once

#include <filesystem>
#include <map>
#include <span>
#include <stdexcept>
#include <string>

#include "cnn/io/model_file.hpp"
#include "cnn/nn/sequential.hpp"
#include "cnn/train/train_state.hpp"

namespace cnn {

// A checkpoint that cannot be written or used; the message names the file and the problem.
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What the program running the training adds to a checkpoint besides the library's TrainState:
// `values` (cnn train: its run folder, the training seconds so far, early stopping's progress)
// and `best`, the weights and buffers of the best evaluation so far by state_dict name (empty
// unless --keep-best). Checkpoints written before these existed have neither, and still load.
struct CheckpointExtras {
  std::map<std::string, std::string> values;
  std::map<std::string, Tensor> best;
};

struct Checkpoint {
  ModelInfo info;  // architecture; info.extra holds the run's settings
  Sequential model;
  TrainState state;
  CheckpointExtras extras;
};

// Writes model, info and state to path atomically: the previous file at path stays complete
// until the new one is. Throws CheckpointError (a full disk or an unwritable folder included).
void save_checkpoint(const std::filesystem::path& path, Sequential& model, const ModelInfo& info,
                     const TrainState& state, const CheckpointExtras& extras = {});

// Reads and validates a checkpoint: everything a model file is checked for, plus the optimizer
// tensors (each shaped like the parameter it names), the image order (a permutation), every
// metadata number and the best weights (all of the model's tensors with their shapes, or none).
// Throws CheckpointError naming the file and the problem.
Checkpoint load_checkpoint(const std::filesystem::path& path);
// The same on bytes in memory; `name` stands for the file in messages (the fuzz target uses it).
Checkpoint parse_checkpoint(std::span<const char> bytes, const std::string& name);

}  // namespace cnn
