// `cnn train` before its first step: its flags (TrainArgs) and the plan they make once the
// checkpoint, the data and the model are loaded (TrainPlan). train_command.cpp trains and reports.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "checkpoint_options.hpp"
#include "cnn/data/dataset.hpp"
#include "cnn/io/checkpoint.hpp"
#include "cnn/io/model_file.hpp"
#include "cnn/nn/sequential.hpp"
#include "cnn/train/training.hpp"
#include "data_options.hpp"
#include "recipe_options.hpp"
#include "train_session.hpp"

namespace cnn::cli {

struct TrainArgs {
  DataFlags data;                    // --data and how to read it
  std::string normalize = "unit";    // --normalize none|unit|standard
  std::string preparation = "auto";  // --preparation auto|digit|resize
  std::size_t split_seed = 1;        // --split-seed: the stratified validation split's seed
  std::string preset = "seed";
  std::size_t batch = 4;
  std::size_t iterations = 2000;
  std::size_t epochs = 0;
  double lr = 0.01;
  double momentum = 0.9;
  double decay = 1e-5;
  std::uint64_t seed = 1;
  std::size_t val = 5000;
  std::size_t threads = 0;
  std::size_t report_every = 0;
  std::string save;
  std::string out;
  bool quiet = false;
  std::size_t eval_every = 0;
  std::size_t log_every = 0;
  std::size_t early_stop = 0;  // --early-stop N (0: off)
  bool keep_best = false;      // --keep-best
  bool no_test = false;        // --no-test
  CheckpointArgs checkpoints;  // --checkpoint, --checkpoint-every, --resume
  RecipeArgs recipe;
};

// The settings a checkpoint records and --resume restores (checkpoint_options.hpp).
std::vector<RunSetting> run_settings(TrainArgs& args);

// Everything a run needs before its first step, worked out once: the settings, the data, the
// model, the iteration counts, the library's options and the run folder.
struct TrainPlan {
  TrainArgs args;                        // the flags, completed by --resume or --arch-file
  std::optional<Checkpoint> resumed;     // --resume: the checkpoint (its model is now `model`)
  Dataset train_set, val_set, test_set;  // normalised as the model expects; test_set may be empty
  DataSource data;                       // what --data was found to be (its notes, skipped files)
  std::string data_report;               // its printout (data_options.hpp), shown by print_plan
  std::string validation_text;           // how the validation images were chosen
  Preparation preparation = Preparation::digit;  // how predict will prepare images for the model
  bool custom = false;                           // --arch or --arch-file rather than a preset
  std::string architecture;                      // the text the model is built from
  Sequential model;
  IterationPlan iterations;  // what the session, the schedule and the reports count
  TrainOptions options;
  std::filesystem::path run;  // the run folder
  // The run's progress beyond the library's state: from the checkpoint for --resume.
  RunProgress progress;
  // The processes of a data-parallel run (or this one alone). Only the first writes files: the
  // others leave `run` empty.
  ProcessGroup* processes = nullptr;
  bool writes_files() const { return processes == nullptr || processes->rank() == 0; }
};

// Settles the flags (--resume, --arch-file), checks what can be checked before loading anything,
// loads the data, builds or resumes the model, computes the iteration counts, fills the library's
// options and makes the run folder: a resumed run continues in the folder its checkpoint records
// (resume_run_folder), its metrics log cut at the checkpoint's iteration. Throws UsageError for a
// bad flag.
TrainPlan prepare_plan(TrainArgs args, const CLI::App& cmd, ProcessGroup& processes);

}  // namespace cnn::cli
