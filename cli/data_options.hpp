// The flags that say what data to read and how (train, eval, lr-find), and loading it with the
// printout every command shows: which format --data was found to be, the images' shape, the
// classes and their counts, notes, skipped files.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cnn/data/data_source.hpp"

namespace cnn::cli {

struct DataFlags {
  std::string path;          // --data
  std::size_t channels = 0;  // --channels: 0 as the data is, 1, 3
  std::string image_size;    // --image-size HxW ("" as the data is)
  bool skip_bad_images = false;
  std::string cache_dir;  // --cache-dir ("" the default: $XDG_CACHE_HOME/cnn, ~/.cache/cnn)
  bool no_cache = false;  // --no-cache
};

// --data, --channels, --image-size, --skip-bad-images, --cache-dir and --no-cache (train, lr-find,
// eval: eval gives image folders and CSV rows the model's shape unless told otherwise).
void add_data_flags(CLI::App& cmd, DataFlags& flags);

// "28x28" to 28, 28; UsageError naming --image-size otherwise.
std::pair<std::size_t, std::size_t> parse_image_size(const std::string& text);

// The library's options for the flags. `progress`: show a progress bar while decoding (on a
// terminal).
DataOptions data_options(const DataFlags& flags, bool progress);

// The data's training images less the validation ones (the library's validation_split), and how
// these were chosen (for the plan line and run.json). UsageError naming --val when `count` is not
// below the training images.
struct HeldOut {
  Dataset train, validation;
  std::string how;
};
HeldOut hold_out_validation(const DataSource& source, std::size_t count, std::uint64_t split_seed);

// Loads --data with options. UsageError when --data does not exist.
DataSource load_data(const DataFlags& flags, const DataOptions& options);

// What was loaded, for the printout: the format, where, how many images of which shape, how long
// it took, the notes and the skipped files; lines ending in '\n'. Commands print it once the run
// is settled, so that a usage error found after loading prints nothing but the error.
std::string data_report(const DataFlags& flags, const DataSource& source);

// "training images: 6 classes: cat 600, dog 598, ..." and a warning when the largest class has
// more than 5 times the images of the smallest (accuracy then says little about the small
// classes); lines ending in '\n'.
std::string class_counts_report(const Dataset& data, const std::string& what);

}  // namespace cnn::cli
