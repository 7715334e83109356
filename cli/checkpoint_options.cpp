#include "checkpoint_options.hpp"

#include <cstdint>
#include <cstdio>
#include <optional>
#include <type_traits>
#include <utility>

#include "cnn/core/numbers.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "signals.hpp"

namespace cnn::cli {

namespace {

static_assert(std::is_same_v<std::uint64_t, std::size_t>,
              "--seed (uint64_t) is recorded through a std::size_t*");

// Round-trips exactly, so a resumed run uses the very same learning rate.
std::string exact_number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return buffer;
}

const std::string& setting(const Checkpoint& c, const std::string& path, const std::string& key) {
  const auto it = c.info.extra.find(key);
  if (it == c.info.extra.end()) {
    throw CheckpointError(path + ": the checkpoint does not record the setting '" + key + "'");
  }
  return it->second;
}

template <class T>
T parse_setting(const Checkpoint& c, const std::string& path, const std::string& key) {
  const std::string& saved = setting(c, path, key);
  if constexpr (std::is_same_v<T, std::string>) {
    return saved;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (saved != "0" && saved != "1") {
      throw CheckpointError(path + ": the setting " + key + " '" + saved + "' is not 0 or 1");
    }
    return saved == "1";
  } else {
    std::optional<T> value;
    if constexpr (std::is_floating_point_v<T>) {
      value = parse_finite(saved);
    } else {
      value = parse_integer<T>(saved);
    }
    if (!value) {
      throw CheckpointError(path + ": the setting " + key + " '" + saved + "' is not a number");
    }
    return *value;
  }
}

std::string shell_quoted(const std::string& word) {
  if (!word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789_-./=:,+@%") == std::string::npos) {
    return word;
  }
  std::string quoted = "'";
  for (const char ch : word) quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return quoted + "'";
}

}  // namespace

void add_checkpoint_options(CLI::App& cmd, CheckpointArgs& args) {
  cmd.add_option("--checkpoint", args.checkpoint,
                 "Checkpoint file, written every --checkpoint-every iterations and on Ctrl-C "
                 "(default: cnn-checkpoint.safetensors, or the --resume file)")
      ->type_name("FILE");
  cmd.add_option("--checkpoint-every", args.checkpoint_every,
                 "Iterations between checkpoints (0: only on Ctrl-C)")
      ->check(integer_at_least(0))
      ->capture_default_str();
  cmd.add_option("--resume", args.resume,
                 "Continue the run saved in this checkpoint, with its settings")
      ->type_name("FILE");
}

std::map<std::string, std::string> recorded_settings(const std::vector<RunSetting>& settings,
                                                     const CheckpointArgs& args,
                                                     std::size_t threads,
                                                     std::size_t train_images) {
  std::map<std::string, std::string> recorded;
  for (const RunSetting& s : settings) {
    recorded[s.key] = std::visit(
        [](auto* field) -> std::string {
          using T = std::remove_pointer_t<decltype(field)>;
          if constexpr (std::is_same_v<T, std::string>) {
            return *field;
          } else if constexpr (std::is_same_v<T, bool>) {
            return *field ? "1" : "0";
          } else if constexpr (std::is_floating_point_v<T>) {
            return exact_number(*field);
          } else {
            return std::to_string(*field);
          }
        },
        s.value);
  }
  recorded["threads"] = std::to_string(threads);
  recorded["checkpoint_every"] = std::to_string(args.checkpoint_every);
  recorded["train_images"] = std::to_string(train_images);
  return recorded;
}

void take_settings_from(const Checkpoint& c, const std::vector<RunSetting>& settings,
                        CheckpointArgs& args, std::size_t& threads, const CLI::App& cmd) {
  const std::string& path = args.resume;
  for (const RunSetting& s : settings) {
    if (s.optional && !c.info.extra.contains(s.key)) continue;
    std::visit(
        [&](auto* field) {
          using T = std::remove_pointer_t<decltype(field)>;
          const T value = parse_setting<T>(c, path, s.key);
          if (cmd.count(s.flag) > 0 && *field != value) {
            if constexpr (std::is_same_v<T, bool>) {
              throw UsageError(std::string(s.flag) + ": the checkpoint's run was trained " +
                               (value ? "with" : "without") +
                               " it; leave the flag as it was when resuming");
            } else {
              throw UsageError(std::string(s.flag) + ": the checkpoint's run used " +
                               setting(c, path, s.key) + ", not " +
                               cmd.get_option(s.flag)->as<std::string>() +
                               "; leave the flag out or give the same value when resuming");
            }
          }
          *field = value;
        },
        s.value);
  }
  if (cmd.count("--checkpoint-every") == 0) {
    args.checkpoint_every = parse_setting<std::size_t>(c, path, "checkpoint_every");
  }
  const auto saved_threads = parse_setting<std::size_t>(c, path, "threads");
  if (cmd.count("--threads") == 0) {
    threads = saved_threads;
  } else if (threads != saved_threads) {
    std::fprintf(stderr,
                 "cnn: warning: the checkpoint's run used %zu threads; with --threads %zu the "
                 "result may differ in the last bits from a run never stopped\n",
                 saved_threads, threads);
  }
}

void check_same_data(const Checkpoint& c, const CheckpointArgs& args, std::size_t train_images,
                     const std::string& data_flag_text) {
  const std::string& saved = setting(c, args.resume, "train_images");
  if (saved != std::to_string(train_images)) {
    throw CheckpointError(args.resume + ": the checkpoint's run trained on " + saved +
                          " images, but " + data_flag_text + " gives " +
                          std::to_string(train_images));
  }
}

std::string checkpoint_path_for(const CheckpointArgs& args) {
  if (!args.checkpoint.empty()) return args.checkpoint;
  if (!args.resume.empty()) return args.resume;
  return "cnn-checkpoint.safetensors";
}

CheckpointSession::CheckpointSession(const CheckpointArgs& args, const TrainState* resume,
                                     Sequential& model, ModelInfo info,
                                     std::function<CheckpointExtras()> extras,
                                     TrainOptions& options)
    : status_(std::make_shared<Status>()), args_(args) {
  status_->path = checkpoint_path_for(args);
  if (resume != nullptr) {
    status_->exists = status_->path == args.resume;
    status_->last_iteration = resume->iteration;
    std::printf("resuming from %s at iteration %zu\n", args.resume.c_str(), resume->iteration);
  }
  if (args.checkpoint_every > 0) {
    std::printf("checkpoint every %zu iterations to %s\n", args.checkpoint_every,
                status_->path.c_str());
  }
  options.resume = resume;
  options.checkpoint_every = args.checkpoint_every;
  options.stop_requested = &install_stop_handlers();
  options.on_checkpoint = [status = status_, &model, info = std::move(info),
                           extras = std::move(extras)](const TrainState& state) {
    try {
      save_checkpoint(status->path, model, info, state, extras ? extras() : CheckpointExtras{});
    } catch (const CheckpointError& e) {
      throw CheckpointError(std::string(e.what()) +
                            (status->exists
                                 ? " (the previous checkpoint, from iteration " +
                                       std::to_string(status->last_iteration) + ", is intact)"
                                 : ""));
    }
    status->exists = true;
    status->last_iteration = state.iteration;
  };
}

std::string CheckpointSession::diverged_message(const TrainingDiverged& e) const {
  std::string message = std::string(e.what()) + "; the step was not applied";
  if (status_->exists) {
    message += "; the last good checkpoint, " + status_->path + ", is from iteration " +
               std::to_string(status_->last_iteration);
  }
  return message + "; try a smaller --lr";
}

std::string CheckpointSession::resume_command(const std::string& data,
                                              const std::string& save) const {
  std::string command =
      (processes_ > 1 ? "mpirun -np " + std::to_string(processes_) + " " : std::string()) +
      "cnn train --data " + shell_quoted(data) + " --resume " + shell_quoted(status_->path);
  if (args_.checkpoint_every > 0) {
    command += " --checkpoint-every " + std::to_string(args_.checkpoint_every);
  }
  if (!save.empty()) command += " --save " + shell_quoted(save);
  return command;
}

int CheckpointSession::report_interrupted(const TrainResult& result, std::size_t total,
                                          const std::string& data, const std::string& save) const {
  const std::string command = resume_command(data, save);
  std::fflush(stdout);
  std::fprintf(stderr,
               "cnn: interrupted after iteration %zu of %zu; checkpoint written to %s\n"
               "cnn: resume with: %s\n",
               result.iterations, total, status_->path.c_str(), command.c_str());
  return 128 + stop_signal();
}

}  // namespace cnn::cli
