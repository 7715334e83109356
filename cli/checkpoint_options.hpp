// Checkpoints, --resume and Ctrl-C for `cnn train` (docs/reliability.md), kept apart from the
// command's other flags: train_command.cpp lists its settings once (RunSetting) and hands them
// here to be recorded in checkpoints and restored from them.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "cnn/io/checkpoint.hpp"
#include "cnn/train/divergence.hpp"
#include "cnn/train/training.hpp"

namespace cnn::cli {

struct CheckpointArgs {
  std::string checkpoint;  // --checkpoint
  std::size_t checkpoint_every = 0;
  std::string resume;
};

// --checkpoint, --checkpoint-every, --resume.
void add_checkpoint_options(CLI::App& cmd, CheckpointArgs& args);

// A training setting that a checkpoint records and --resume restores: its flag, its key in the
// checkpoint, and the variable the flag fills. An optional setting may be absent from a
// checkpoint (one written before the setting existed): the flag's value stays.
struct RunSetting {
  const char* flag;
  const char* key;
  std::variant<std::size_t*, double*, std::string*, bool*> value;
  bool optional = false;
};

// What a checkpoint records: the settings (doubles written exactly), the thread count used and
// the number of training images.
std::map<std::string, std::string> recorded_settings(const std::vector<RunSetting>& settings,
                                                     const CheckpointArgs& args,
                                                     std::size_t threads, std::size_t train_images);

// --resume: sets every setting, and threads when --threads was not given, from the checkpoint.
// A flag given again must agree with it (UsageError otherwise), so the original command line
// plus --resume works; --threads may differ, with a warning; --checkpoint-every may change.
void take_settings_from(const Checkpoint& checkpoint, const std::vector<RunSetting>& settings,
                        CheckpointArgs& args, std::size_t& threads, const CLI::App& cmd);

// Throws CheckpointError when the checkpoint's run trained on another number of images.
void check_same_data(const Checkpoint& checkpoint, const CheckpointArgs& args,
                     std::size_t train_images, const std::string& data_flag_text);

// --checkpoint, else the --resume file (a resumed run goes on updating it), else the default.
std::string checkpoint_path_for(const CheckpointArgs& args);

// Wires checkpoints, resume and Ctrl-C into the training options, and reports how a run ended
// early. `extras` gives what each checkpoint adds to the library's state (the run's progress).
class CheckpointSession {
 public:
  CheckpointSession(const CheckpointArgs& args, const TrainState* resume, Sequential& model,
                    ModelInfo info, std::function<CheckpointExtras()> extras,
                    TrainOptions& options);
  // The divergence message, plus which checkpoint is the last good one.
  std::string diverged_message(const TrainingDiverged& e) const;
  // The command that resumes the run from the checkpoint, to paste into a shell: --data and,
  // when not empty, --save (the checkpoint holds everything else, the run folder included);
  // paths shell-quoted where they need it.
  std::string resume_command(const std::string& data, const std::string& save) const;
  // A data-parallel run of `processes` processes: the resume command starts as many again
  // ("mpirun -np N cnn train ..."), which continues bit for bit.
  void set_processes(std::size_t processes) { processes_ = processes; }
  // After Ctrl-C: says where the checkpoint is and resume_command(); returns the exit code,
  // 128 + the signal.
  int report_interrupted(const TrainResult& result, std::size_t total, const std::string& data,
                         const std::string& save) const;

 private:
  struct Status {
    std::string path;
    std::size_t last_iteration = 0;  // of the last checkpoint written or resumed from
    bool exists = false;
  };
  std::shared_ptr<Status> status_;
  CheckpointArgs args_;
  std::size_t processes_ = 1;
};

}  // namespace cnn::cli
