#include "data_options.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "cnn/core/numbers.hpp"
#include "cnn/data/decoded_cache.hpp"
#include "commands.hpp"
#include "options.hpp"

namespace cnn::cli {

void add_data_flags(CLI::App& cmd, DataFlags& flags) {
  cmd.add_option("--data", flags.path,
                 "The data: a folder of IDX files (MNIST's layout), CIFAR-10 batches, CSV files "
                 "(train.csv, test.csv) or image folders (train/<class>/, test/<class>/), or one "
                 "CSV file; the format is recognised and printed")
      ->required()
      ->type_name("PATH");
  cmd.add_option("--channels", flags.channels,
                 "Channels of the images: 0 as the data is (colour when any pixel has R != G or "
                 "G != B), 1 (grey, by luminance) or 3 (colour)")
      ->check(CLI::IsMember({0, 1, 3}))
      ->capture_default_str();
  cmd.add_option("--image-size", flags.image_size,
                 "HxW: resize every image to H rows and W columns (stretched, aspect ratio not "
                 "kept; triangle filter); for CSV rows, their shape when not square grey")
      ->type_name("HxW");
  cmd.add_flag("--skip-bad-images", flags.skip_bad_images,
               "Skip unreadable images of image folders (counted and listed) instead of stopping");
  cmd.add_option("--cache-dir", flags.cache_dir,
                 "Folder for the decoded-image cache of image folders (default: "
                 "$XDG_CACHE_HOME/cnn or ~/.cache/cnn)")
      ->type_name("DIR");
  cmd.add_flag("--no-cache", flags.no_cache, "Decode image folders every time, without a cache");
}

std::pair<std::size_t, std::size_t> parse_image_size(const std::string& text) {
  const std::size_t x = text.find_first_of("xX");
  const auto bad = [&] {
    return UsageError("--image-size: expected HxW such as 32x32 (each 1 to 4096), got '" + text +
                      "'");
  };
  if (x == std::string::npos) throw bad();
  const auto height = parse_integer<std::size_t>(text.substr(0, x));
  const auto width = parse_integer<std::size_t>(text.substr(x + 1));
  if (!height || !width || *height == 0 || *width == 0 || *height > 4096 || *width > 4096) {
    throw bad();
  }
  return {*height, *width};
}

namespace {

// A line redrawn in place on a terminal while images decode; nothing elsewhere.
class DecodeProgress {
 public:
  explicit DecodeProgress(bool show) : show_(show && ::isatty(STDOUT_FILENO) != 0) {}
  void operator()(std::size_t done, std::size_t total) {
    if (!show_) return;
    const auto now = std::chrono::steady_clock::now();
    if (done < total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    std::printf("\rdecoding images: %zu of %zu (%.0f%%)", done, total,
                total > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0);
    if (done >= total) std::printf("\r\033[K");
    std::fflush(stdout);
  }

 private:
  bool show_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace

DataOptions data_options(const DataFlags& flags, bool progress) {
  DataOptions options;
  options.channels = flags.channels;
  if (!flags.image_size.empty()) {
    std::tie(options.height, options.width) = parse_image_size(flags.image_size);
  }
  options.skip_bad_images = flags.skip_bad_images;
  if (!flags.no_cache) {
    const std::filesystem::path dir =
        flags.cache_dir.empty() ? default_cache_dir() : std::filesystem::path(flags.cache_dir);
    if (!dir.empty()) options.cache_dir = dir;
  }
  auto bar = std::make_shared<DecodeProgress>(progress);
  options.progress = [bar](std::size_t done, std::size_t total) { (*bar)(done, total); };
  return options;
}

namespace {

std::string format(const char* format, auto... values) {
  const int size = std::snprintf(nullptr, 0, format, values...);
  std::string text(static_cast<std::size_t>(size) + 1, '\0');
  std::snprintf(text.data(), text.size(), format, values...);
  text.pop_back();
  return text;
}

}  // namespace

std::string class_counts_report(const Dataset& data, const std::string& what) {
  const std::vector<std::size_t> counts = class_counts(data);
  const std::vector<std::string>& names = data.class_names();
  std::string text;
  for (std::size_t c = 0; c < counts.size(); ++c) {
    if (c == 12 && counts.size() > 14) {
      text += ", ... (" + std::to_string(counts.size() - 12) + " more)";
      break;
    }
    text += (c == 0 ? "" : ", ") + names[c] + " " + std::to_string(counts[c]);
  }
  std::string report = format("%s: %zu classes: %s\n", what.c_str(), counts.size(), text.c_str());
  std::size_t smallest = data.size(), largest = 0, smallest_class = 0, largest_class = 0;
  for (std::size_t c = 0; c < counts.size(); ++c) {
    if (counts[c] < smallest) smallest = counts[c], smallest_class = c;
    if (counts[c] > largest) largest = counts[c], largest_class = c;
  }
  if (largest > 5 * smallest) {
    report += format(
        "warning: the classes are unbalanced: %s has %zu images, %s %zu; the accuracy says "
        "little about the small classes, look at the per-class accuracy\n",
        names[largest_class].c_str(), largest, names[smallest_class].c_str(), smallest);
  }
  return report;
}

DataSource load_data(const DataFlags& flags, const DataOptions& options) {
  require_data_path(flags.path);
  return load_data_source(flags.path, options);
}

HeldOut hold_out_validation(const DataSource& source, std::size_t count, std::uint64_t split_seed) {
  ValidationSplit split;
  try {
    split = validation_split(source, count, split_seed);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--val: ") + e.what());
  }
  std::string how;
  switch (split.choice) {
    case ValidationChoice::own:
      how = "the data's own validation set";
      break;
    case ValidationChoice::last:
      how = "the last " + std::to_string(count) + " training images";
      break;
    case ValidationChoice::none:
      how = "none (--val 0)";
      break;
    case ValidationChoice::stratified:
      how = "a split of " + std::to_string(count) + " images stratified by class, --split-seed " +
            std::to_string(split_seed);
      break;
  }
  return {std::move(split.train), std::move(split.validation), std::move(how)};
}

std::string data_report(const DataFlags& flags, const DataSource& source) {
  const Dataset& shape = source.train.size() > 0 ? source.train : *source.test;
  std::size_t images = source.train.size();
  if (source.validation) images += source.validation->size();
  if (source.test) images += source.test->size();
  std::string report =
      format("data: %s in %s: %zu images of %zu channel%s %zux%zu, loaded in %.2f s%s\n",
             source.description.c_str(), flags.path.c_str(), images, shape.channels(),
             shape.channels() == 1 ? "" : "s", shape.rows(), shape.cols(), source.seconds,
             source.from_cache ? " (decoded cache)" : "");
  for (const std::string& note : source.notes) report += "note: " + note + "\n";
  if (!source.skipped.empty()) {
    report += format("skipped %zu unreadable image%s (--skip-bad-images):\n", source.skipped.size(),
                     source.skipped.size() == 1 ? "" : "s");
    for (std::size_t i = 0; i < source.skipped.size() && i < 10; ++i) {
      report += "  " + source.skipped[i] + "\n";
    }
    if (source.skipped.size() > 10) {
      report += format("  ... and %zu more\n", source.skipped.size() - 10);
    }
  }
  return report;
}

}  // namespace cnn::cli
