#include "recipe_options.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

#include "cnn/arch/presets.hpp"
#include "cnn/train/optimizer.hpp"
#include "commands.hpp"
#include "options.hpp"

namespace cnn::cli {

namespace {

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace

void add_recipe_options(CLI::App& cmd, RecipeArgs& args, CLI::Option* preset) {
  auto* arch = cmd.add_option("--arch", args.arch,
                              "Network in the architecture language, e.g. \"conv(32,3,pad=1) bn "
                              "relu maxpool(2) fc(classes)\" (instead of --preset)");
  auto* arch_file =
      cmd.add_option("--arch-file", args.arch_file, "File holding the architecture text");
  arch->excludes(preset)->excludes(arch_file);
  arch_file->excludes(preset);
  cmd.add_option("--optimizer", args.optimizer, "Update rule: sgd, nesterov, adam, adamw")
      ->check(CLI::IsMember(optimizer_names()).description(""))
      ->capture_default_str();
  cmd.add_option("--schedule", args.schedule,
                 "Learning-rate schedule: time (lr/(1+t*decay)), step, cosine, onecycle")
      ->check(CLI::IsMember(schedule_names()).description(""))
      ->capture_default_str();
  cmd.add_option("--weight-decay", args.weight_decay,
                 "Weight decay: L2 for sgd, nesterov and adam, decoupled for adamw")
      ->check(number_in(0, 1, false, true, "a number in [0, 1)"))
      ->capture_default_str();
  cmd.add_option("--warmup", args.warmup, "onecycle: fraction of training with a rising rate")
      ->check(number_in(0, 1, false, true, "a number in [0, 1)"))
      ->capture_default_str();
  cmd.add_option("--step-epochs", args.step_epochs, "step: epochs between rate drops")
      ->check(number_in(0, 1e6, true, false, "a number > 0"))
      ->capture_default_str();
  cmd.add_option("--gamma", args.gamma, "step: factor of each rate drop")
      ->check(number_in(0, 1, true, false, "a number in (0, 1]"))
      ->capture_default_str();
  cmd.add_option("--translate", args.translate,
                 "Augmentation: random shift of each training image, up to this many pixels")
      ->check(number_in(0, 64, false, false, "a number of pixels in [0, 64]"))
      ->capture_default_str();
  cmd.add_option("--rotate", args.rotate, "Augmentation: random rotation up to this many degrees")
      ->check(number_in(0, 180, false, false, "a number of degrees in [0, 180]"))
      ->capture_default_str();
  cmd.add_option("--scale", args.scale, "Augmentation: random scale factor in [1 - s, 1 + s]")
      ->check(number_in(0, 1, false, true, "a number in [0, 1)"))
      ->capture_default_str();
  cmd.add_option("--elastic", args.elastic,
                 "Augmentation: elastic distortion of strength alpha pixels (Simard et al. 2003; "
                 "0 = none, 34 is theirs for 28x28 digits)")
      ->check(number_in(0, 1000, false, false, "a number of pixels in [0, 1000]"))
      ->capture_default_str();
  cmd.add_option("--elastic-sigma", args.elastic_sigma,
                 "Augmentation: smoothness sigma of the elastic distortion, in pixels")
      ->check(number_in(0.5, 20, false, false, "a number of pixels in [0.5, 20]"))
      ->capture_default_str();
}

std::string architecture_text(const RecipeArgs& args, const std::string& preset) {
  if (!args.arch.empty()) return args.arch;
  if (args.arch_file.empty()) return preset_architecture(preset);
  std::ifstream in(args.arch_file);
  if (!in) throw UsageError("--arch-file: cannot read '" + args.arch_file + "'");
  std::ostringstream text;
  text << in.rdbuf();
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
  options.augment = {args.translate, args.rotate, args.scale, args.elastic, args.elastic_sigma};
}

std::string describe_recipe(const RecipeArgs& args) {
  std::string text = "optimizer " + args.optimizer + ", schedule " + args.schedule;
  if (args.schedule == "onecycle") text += " (warm-up " + number(args.warmup) + ")";
  if (args.schedule == "step") {
    text += " (every " + number(args.step_epochs) + " epochs, gamma " + number(args.gamma) + ")";
  }
  if (args.weight_decay > 0) text += ", weight decay " + number(args.weight_decay);
  if (args.translate > 0 || args.rotate > 0 || args.scale > 0 || args.elastic > 0) {
    text += ", augmentation: translate " + number(args.translate) + " px, rotate " +
            number(args.rotate) + " deg, scale " + number(args.scale);
    if (args.elastic > 0) {
      text +=
          ", elastic " + number(args.elastic) + " px (sigma " + number(args.elastic_sigma) + " px)";
    }
  } else {
    text += ", no augmentation";
  }
  return text;
}

}  // namespace cnn::cli
