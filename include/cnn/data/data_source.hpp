// Data sets as people have them: `--data PATH` recognises which of these PATH is and loads it.
//
//   IDX files        a folder with train-images-idx3-ubyte, train-labels-idx1-ubyte,
//                    t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each raw or .gz): MNIST's
//                    layout, any image size; classes are the largest label + 1, or named one per
//                    line by an optional class-names.txt next to the files.
//   CIFAR-10         a folder with data_batch_1.bin ... data_batch_5.bin and test_batch.bin
//   (3x32x32
//                    colour), class names from batches.meta.txt when present (cifar.hpp).
//   CSV              a .csv file (one set, split for validation), or a folder with train.csv and
//                    optionally val.csv and test.csv (each may be .csv.gz): a label column, then
//                    one column per pixel (csv.hpp), class names from an optional class-names.txt
//                    (one per line, as for IDX). A test.csv without labels (Kaggle's) is not a test
//                    set: `cnn predict --csv` classifies it.
//   image folders    DIR/train/<class>/*.png|jpg|jpeg|pgm|ppm with optional DIR/val/<class>/... and
//                    DIR/test/<class>/..., or DIR/<class>/... as one set to split
//                    (image_folder.hpp).
//
// Looked for in that order; a folder that is none of them is refused with a message listing what
// was looked for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cnn/data/dataset.hpp"

namespace cnn {

enum class DataFormat { idx, cifar10, csv, image_folders };
// "IDX files", "CIFAR-10 batches", "CSV", "image folders".
std::string format_name(DataFormat format);

struct DataOptions {
  // Channels of the images: 0 as the data is (image folders: colour when any image has a pixel
  // with R ≠ G or G ≠ B), 1 (colour converted by luminance) or 3 (grey copied to each channel).
  std::size_t channels = 0;
  // Image size: 0 as the data is. For CSV the shape of a row's pixels (needed unless the rows are
  // square grey images); for the other formats the size every image is resized to (resize_image:
  // stretched, the aspect ratio not kept).
  std::size_t height = 0, width = 0;
  // Image folders: unreadable images are skipped and listed instead of stopping the load.
  bool skip_bad_images = false;
  // Image folders: where decoded images are cached (decoded_cache.hpp); none when unset.
  std::optional<std::filesystem::path> cache_dir;
  // The caller needs only the test set (cnn eval): IDX training files are then not needed.
  bool test_only = false;
  // Image folders: called while decoding with the images done and the total.
  std::function<void(std::size_t done, std::size_t total)> progress;
};

struct DataSource {
  DataFormat format = DataFormat::idx;
  std::string description;  // what was found, for the printout ("image folders train/ and test/")
  Dataset train;  // every labelled image that is not validation or test (empty with test_only
                  // for IDX files)
  std::optional<Dataset> validation;  // a val/ folder or val.csv; else the caller splits train
  std::optional<Dataset> test;
  std::vector<std::string> notes;    // things the user should know (a test.csv without labels...)
  std::vector<std::string> skipped;  // with skip_bad_images: "file: reason" of each skipped image
  bool from_cache = false;           // image folders read from the decoded cache
  double seconds = 0.0;              // the time the load took
};

// Which format path holds, found as load_data_source finds it; nullopt when none (or when path
// does not exist).
std::optional<DataFormat> detect_data_format(const std::filesystem::path& path);

// Loads the data set at path, found as described above. Throws DataError naming the file and
// what was expected for anything wrong with the data, and for a path that is no data set.
DataSource load_data_source(const std::filesystem::path& path, const DataOptions& options);

// The images of each class: counts[label].
std::vector<std::size_t> class_counts(const Dataset& data);

struct StratifiedSplit {
  Dataset train, validation;
};
// Holds out `validation` images, each class in proportion to its size (largest remainders, so
// the counts add up), the images of each class chosen by a shuffle seeded by `seed`; both parts
// keep the data's order. The same data, count and seed always give the same split. Throws
// DataError when validation is not smaller than the data.
StratifiedSplit split_stratified(const Dataset& data, std::size_t validation, std::uint64_t seed);

// How many training images a run holds out for validation when not told: 5,000 (MNIST's custom),
// or a tenth of them when they are fewer than 50,000 (so that small sets keep most for training).
inline std::size_t default_validation_count(std::size_t images) {
  return images < 50000 ? images / 10 : 5000;
}

// Where the validation images of a run come from (validation_split).
enum class ValidationChoice {
  own,         // the data's own validation set (val/, val.csv)
  last,        // the last `count` training images (IDX and CIFAR-10 files, which are shuffled)
  none,        // count 0 of data that lists images class by class: nothing held out
  stratified,  // split_stratified(train, count, seed) (image folders and CSV files)
};
struct ValidationSplit {
  Dataset train, validation;
  ValidationChoice choice = ValidationChoice::own;
};
// The data's training images less the validation ones, as `cnn train`, lr-find and the Python
// module hold them out: the data's own validation set when it has one, else `count` images as
// ValidationChoice says for its format. std::invalid_argument ("must be less than the 100 training
// images, got 100") when `count` is not below the training images.
ValidationSplit validation_split(const DataSource& source, std::size_t count,
                                 std::uint64_t split_seed);

// The data relabelled for a model whose classes are `model_classes`: each class of the data is
// found among them by name (so numbered classes, "0", "1", ... of IDX and CSV files, fit a model
// of numbered classes); classes that hold no images need not be found. Throws DataError naming
// the classes the model does not know.
Dataset relabel_for(const Dataset& data, const std::vector<std::string>& model_classes,
                    const std::string& name);

// Whether these are the classes of digits: 10 classes named "0" to "9".
bool digit_classes(const std::vector<std::string>& names);

}  // namespace cnn
