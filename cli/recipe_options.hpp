// The training-recipe flags of `cnn train` beyond the design's SGD: architecture text, optimizer,
// learning-rate schedule, weight decay, data augmentation. Kept apart from train_command.cpp so
// that the recipe can grow without touching the command's output.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cnn/train/training.hpp"

namespace cnn::cli {

struct RecipeArgs {
  std::string arch;       // architecture text (--arch)
  std::string arch_file;  // file holding it (--arch-file)
  std::string optimizer = "sgd";
  std::string schedule = "time";
  double weight_decay = 0.0;
  double warmup = 0.25;
  double step_epochs = 1.0;
  double gamma = 0.1;
  double translate = 0.0, rotate = 0.0, scale = 0.0;
  double elastic = 0.0, elastic_sigma = 4.0;
  bool flip = false;
  double erase = 0.0;
  double label_smoothing = 0.0;
};

// Adds the flags to cmd; preset is the --preset option, which --arch and --arch-file exclude.
void add_recipe_options(CLI::App& cmd, RecipeArgs& args, CLI::Option* preset);

// The architecture text to build: --arch, the contents of --arch-file, or the preset's.
// Throws UsageError for an unreadable --arch-file.
std::string architecture_text(const RecipeArgs& args, const std::string& preset);

// Fills the optimizer, schedule and augmentation of options; steps_per_epoch converts
// --step-epochs into steps.
void apply_recipe(const RecipeArgs& args, std::size_t steps_per_epoch, TrainOptions& options);

// One line describing the recipe, such as "optimizer adamw, schedule onecycle (warm-up 0.25),
// weight decay 0.0005, augmentation: translate 2 px, rotate 10 deg, scale 0.1, elastic 34 px
// (sigma 4 px)".
std::string describe_recipe(const RecipeArgs& args);

}  // namespace cnn::cli
