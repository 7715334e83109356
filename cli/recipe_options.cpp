#include "recipe_options.hpp"

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cnn/arch/presets.hpp"
#include "cnn/core/numbers.hpp"
#include "cnn/train/optimizer.hpp"
#include "commands.hpp"
#include "options.hpp"

namespace cnn::cli {

namespace {

// The recipe's number flags, in the order --help lists them.
struct NumberFlag {
  const char* flag;
  double RecipeArgs::*field;
  const char* help;
  Interval allowed;
  const char* description;  // of allowed, for --help and the error
};

const NumberFlag kNumberFlags[] = {
    {"--weight-decay",
     &RecipeArgs::weight_decay,
     "Weight decay: L2 for sgd, nesterov and adam, decoupled for adamw",
     {0, 1, false, true},
     "a number in [0, 1)"},
    {"--warmup",
     &RecipeArgs::warmup,
     "onecycle: fraction of training with a rising rate",
     {0, 1, false, true},
     "a number in [0, 1)"},
    {"--step-epochs",
     &RecipeArgs::step_epochs,
     "step: epochs between rate drops",
     {0, 1e6, true, false},
     "a number > 0"},
    {"--gamma",
     &RecipeArgs::gamma,
     "step: factor of each rate drop",
     {0, 1, true, false},
     "a number in (0, 1]"},
    {"--translate",
     &RecipeArgs::translate,
     "Augmentation: random shift of each training image, up to this many pixels",
     {0, 64, false, false},
     "a number of pixels in [0, 64]"},
    {"--rotate",
     &RecipeArgs::rotate,
     "Augmentation: random rotation up to this many degrees",
     {0, 180, false, false},
     "a number of degrees in [0, 180]"},
    {"--scale",
     &RecipeArgs::scale,
     "Augmentation: random scale factor in [1 - s, 1 + s]",
     {0, 1, false, true},
     "a number in [0, 1)"},
    {"--elastic",
     &RecipeArgs::elastic,
     "Augmentation: elastic distortion of strength alpha pixels (Simard et al. 2003; 0 = none, "
     "34 is theirs for 28x28 digits)",
     {0, 1000, false, false},
     "a number of pixels in [0, 1000]"},
    {"--elastic-sigma",
     &RecipeArgs::elastic_sigma,
     "Augmentation: smoothness sigma of the elastic distortion, in pixels",
     {0.5, 20, false, false},
     "a number of pixels in [0.5, 20]"},
    {"--erase",
     &RecipeArgs::erase,
     "Augmentation: probability of random erasing (Zhong et al. 2017): a rectangle of 2-40% of "
     "the image filled with random values",
     {0, 1, false, false},
     "a probability in [0, 1]"},
    {"--label-smoothing",
     &RecipeArgs::label_smoothing,
     "Label smoothing: train towards (1 - e) on the label and e/classes on every class",
     {0, 1, false, true},
     "a number in [0, 1)"},
};

}  // namespace

void add_recipe_options(CLI::App& cmd, RecipeArgs& args, CLI::Option* preset) {
  // An empty --arch would read as "no --arch" and train the preset: refused here instead.
  const CLI::Validator not_empty(
      [](std::string& text) -> std::string {
        return text.empty() ? "the architecture has no layers (the text is empty)" : "";
      },
      "");
  auto* arch = cmd.add_option("--arch", args.arch,
                              "Network in the architecture language, e.g. \"conv(32,3,pad=1) bn "
                              "relu maxpool(2) fc(classes)\" (instead of --preset)")
                   ->check(not_empty)
                   ->type_name("TEXT");

  auto* arch_file =
      cmd.add_option("--arch-file", args.arch_file, "File holding the architecture text")
          ->type_name("FILE");
  arch->excludes(preset)->excludes(arch_file);
  arch_file->excludes(preset);
  cmd.add_option("--optimizer", args.optimizer, "Update rule: sgd, nesterov, adam, adamw")
      ->transform(one_of(optimizer_names()))
      ->type_name("NAME")
      ->capture_default_str();
  cmd.add_option("--schedule", args.schedule,
                 "Learning-rate schedule: time (lr/(1+t*decay)), step, cosine, onecycle")
      ->transform(one_of(schedule_names()))
      ->type_name("NAME")
      ->capture_default_str();
  for (const NumberFlag& f : kNumberFlags) {
    cmd.add_option(f.flag, args.*f.field, f.help)
        ->check(number_in(f.allowed, f.description))
        ->capture_default_str();
  }
  cmd.add_flag("--flip", args.flip,
               "Augmentation: mirror each training image left to right with probability 1/2 "
               "(for pictures whose mirror image is of the same class: not for digits)");
}

std::string architecture_text(const RecipeArgs& args, const std::string& preset) {
  if (!args.arch.empty()) return args.arch;
  if (args.arch_file.empty()) return preset_architecture(preset);
  std::ifstream in(args.arch_file);
  if (!in) throw UsageError("--arch-file: cannot read '" + args.arch_file + "'");
  std::ostringstream text;
  text << in.rdbuf();
  // An empty text would read as "no --arch" and train the preset.
  if (text.str().find_first_not_of(" \t\r\n") == std::string::npos) {
    throw UsageError("--arch-file: '" + args.arch_file +
                     "' is empty; expected the architecture text, e.g. \"conv(8,5) relu "
                     "maxpool(2) fc(classes)\"");
  }
  return text.str();
}

void apply_recipe(const RecipeArgs& args, std::size_t steps_per_epoch, TrainOptions& options) {
  options.optimizer.kind = parse_optimizer(args.optimizer);
  options.optimizer.weight_decay = args.weight_decay;
  options.optimizer.schedule.kind = parse_schedule(args.schedule);
  options.optimizer.schedule.warmup = args.warmup;
  options.optimizer.schedule.gamma = args.gamma;
  options.optimizer.schedule.step_size = std::max<std::size_t>(
      1, static_cast<std::size_t>(
             std::llround(args.step_epochs * static_cast<double>(steps_per_epoch))));
  options.augment = {args.translate,     args.rotate, args.scale, args.elastic,
                     args.elastic_sigma, args.flip,   args.erase};
  options.label_smoothing = args.label_smoothing;
}

std::string describe_recipe(const RecipeArgs& args) {
  std::string text = "optimizer " + args.optimizer + ", schedule " + args.schedule;
  if (args.schedule == "onecycle") text += " (warm-up " + format_number(args.warmup) + ")";
  if (args.schedule == "step") {
    text += " (every " + format_number(args.step_epochs) + " epochs, gamma " +
            format_number(args.gamma) + ")";
  }
  if (args.weight_decay > 0) text += ", weight decay " + format_number(args.weight_decay);
  if (args.label_smoothing > 0) text += ", label smoothing " + format_number(args.label_smoothing);
  // The moves, each after ", " (the first after "augmentation: "), or "no augmentation".
  std::vector<std::string> moves;
  if (args.translate > 0 || args.rotate > 0 || args.scale > 0 || args.elastic > 0) {
    moves.push_back("translate " + format_number(args.translate) + " px, rotate " +
                    format_number(args.rotate) + " deg, scale " + format_number(args.scale));
    if (args.elastic > 0) {
      moves.push_back("elastic " + format_number(args.elastic) + " px (sigma " +
                      format_number(args.elastic_sigma) + " px)");
    }
  }
  if (args.flip) moves.emplace_back("mirror left-right");
  if (args.erase > 0) moves.push_back("random erasing " + format_number(args.erase));
  if (moves.empty()) return text + ", no augmentation";
  text += ", augmentation:";
  for (std::size_t i = 0; i < moves.size(); ++i) text += (i == 0 ? " " : ", ") + moves[i];
  return text;
}

}  // namespace cnn::cli
