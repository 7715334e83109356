#include "cnn/data/data_source.hpp"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <system_error>
#include <utility>

#include "cnn/core/parallel.hpp"
#include "cnn/core/rng.hpp"
#include "cnn/data/cifar.hpp"
#include "cnn/data/csv.hpp"
#include "cnn/data/idx.hpp"
#include "cnn/data/image.hpp"
#include "cnn/data/image_folder.hpp"

namespace cnn {

namespace {

namespace fs = std::filesystem;

bool path_exists(const fs::path& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

// NAME or NAME.gz in dir, if either exists.
std::optional<fs::path> raw_or_gz(const fs::path& dir, const std::string& name) {
  if (path_exists(dir / name)) return dir / name;
  if (path_exists(dir / (name + ".gz"))) return dir / (name + ".gz");
  return std::nullopt;
}

bool ends_with_ignoring_case(const std::string& text, const std::string& suffix) {
  if (text.size() < suffix.size()) return false;
  return std::equal(suffix.rbegin(), suffix.rend(), text.rbegin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
}

bool is_csv_file(const fs::path& path) {
  const std::string name = path.filename().string();
  return ends_with_ignoring_case(name, ".csv") || ends_with_ignoring_case(name, ".csv.gz");
}

// Names one per line (class-names.txt): trailing spaces and CR trimmed, empty lines skipped.
std::vector<std::string> read_names_file(const fs::path& path) {
  const std::vector<std::uint8_t> bytes = read_file_bytes(path);
  std::vector<std::string> names;
  std::string line;
  const auto finish = [&] {
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
      line.pop_back();
    }
    if (!line.empty()) names.push_back(line);
    line.clear();
  };
  for (const std::uint8_t byte : bytes) {
    if (byte == '\n') {
      finish();
    } else {
      line.push_back(static_cast<char>(byte));
    }
  }
  finish();
  if (names.empty()) throw DataError(path.string() + ": no class names (expected one per line)");
  if (names.size() > kMaxClasses) {
    throw DataError(path.string() + ": " + std::to_string(names.size()) +
                    " class names, more than the " + std::to_string(kMaxClasses) + " supported");
  }
  return names;
}

std::size_t largest_label(const std::vector<std::uint8_t>& labels) {
  return labels.empty() ? 0 : *std::max_element(labels.begin(), labels.end());
}

// Labels read from a file, for messages.
struct LabelsOf {
  fs::path file;
  const std::vector<std::uint8_t>* labels;
};

// The names in dir/class-names.txt when it is there, each label of `parts` checked to have one
// (DataError naming the file, the label and its index otherwise); nullopt without the file.
std::optional<std::vector<std::string>> names_from_file(const fs::path& dir,
                                                        const std::vector<LabelsOf>& parts) {
  const fs::path names_file = dir / "class-names.txt";
  if (!path_exists(names_file)) return std::nullopt;
  std::vector<std::string> names = read_names_file(names_file);
  for (const LabelsOf& part : parts) {
    const std::size_t largest = largest_label(*part.labels);
    if (largest >= names.size()) {
      const auto at =
          std::find(part.labels->begin(), part.labels->end(), largest) - part.labels->begin();
      throw DataError(part.file.string() + ": label " + std::to_string(largest) + " at index " +
                      std::to_string(at) + " is out of range for the " +
                      std::to_string(names.size()) + " classes of " + names_file.string());
    }
  }
  return names;
}

// IDX classes: named by class-names.txt, else numbered up to the largest label, at least MNIST's
// ten (so that a small subset of it keeps all ten classes).
std::vector<std::string> idx_class_names(const fs::path& dir, const std::vector<LabelsOf>& parts) {
  if (auto names = names_from_file(dir, parts)) return std::move(*names);
  std::size_t labelled = 0;
  for (const LabelsOf& part : parts) {
    labelled = std::max(labelled, largest_label(*part.labels) + 1);
  }
  return numbered_class_names(std::max<std::size_t>(labelled, 10));
}

// Every image given `channels` channels and a height x width size (0: unchanged).
void adapt(LabelledImages& images, std::size_t channels, std::size_t height, std::size_t width,
           const std::string& name) {
  const Shape from = images.image;
  const Shape to{channels == 0 ? from[0] : channels, height == 0 ? from[1] : height,
                 width == 0 ? from[2] : width};
  if (to == from) return;
  if (from[0] != 1 && from[0] != 3) {
    throw DataError(name + ": cannot convert images of " + std::to_string(from[0]) +
                    " channels (only 1 and 3)");
  }
  const std::size_t count = images.size(), in_bytes = from.numel(), out_bytes = to.numel();
  std::vector<std::uint8_t> pixels(count * out_bytes);
  parallel_for(
      count,
      [&](std::size_t, std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) {
          Image image{from[0], from[1], from[2],
                      std::vector<std::uint8_t>(images.pixels.begin() + i * in_bytes,
                                                images.pixels.begin() + (i + 1) * in_bytes)};
          if (to[0] != from[0]) image = convert_channels(image, to[0]);
          if (to[1] != from[1] || to[2] != from[2]) image = resize_image(image, to[1], to[2]);
          std::copy(image.pixels.begin(), image.pixels.end(), pixels.begin() + i * out_bytes);
        }
      },
      64);
  images.pixels = std::move(pixels);
  images.image = to;
}

Dataset make_dataset(LabelledImages images, const std::string& name) {
  try {
    return Dataset(std::move(images));
  } catch (const DataError& e) {
    throw DataError(name + ": " + e.what());
  }
}

// ---- IDX ----

DataSource load_idx(const fs::path& dir, const DataOptions& options) {
  const std::string fetch = " not found; fetch MNIST with scripts/fetch-mnist.sh " + dir.string();
  const auto find = [&](const std::string& name) {
    const auto path = raw_or_gz(dir, name);
    if (!path) throw DataError(dir.string() + ": IDX file " + name + " (or .gz)" + fetch);
    return *path;
  };
  const auto read = [](const fs::path& images_path, const fs::path& labels_path) {
    IdxImages idx = read_idx_images(images_path);
    std::vector<std::uint8_t> labels = read_idx_labels(labels_path);
    if (idx.count != labels.size()) {
      throw DataError(images_path.string() + ": " + std::to_string(idx.count) + " images but " +
                      labels_path.string() + ": " + std::to_string(labels.size()) + " labels");
    }
    return LabelledImages{
        Shape{1, idx.rows, idx.cols}, std::move(idx.pixels), std::move(labels), {}};
  };
  // All four found before any is read, so that a missing one is reported at once.
  const fs::path test_images = find("t10k-images-idx3-ubyte");
  const fs::path test_labels = find("t10k-labels-idx1-ubyte");
  if (options.test_only) {
    LabelledImages test = read(test_images, test_labels);
    test.class_names = idx_class_names(dir, {{test_labels, &test.labels}});
    adapt(test, options.channels, options.height, options.width, test_images.string());
    DataSource source;
    source.format = DataFormat::idx;
    source.description = "IDX files (" + test_images.filename().string() + ", " +
                         test_labels.filename().string() + ")";
    source.test = make_dataset(std::move(test), test_images.string());
    return source;
  }
  const fs::path train_images = find("train-images-idx3-ubyte");
  const fs::path train_labels = find("train-labels-idx1-ubyte");

  LabelledImages train = read(train_images, train_labels);
  LabelledImages test = read(test_images, test_labels);
  if (!(train.image == test.image)) {
    throw DataError(test_images.string() + ": images of " + std::to_string(test.image[1]) + "x" +
                    std::to_string(test.image[2]) + " but " + train_images.string() + " has " +
                    std::to_string(train.image[1]) + "x" + std::to_string(train.image[2]));
  }
  const std::vector<std::string> names =
      idx_class_names(dir, {{train_labels, &train.labels}, {test_labels, &test.labels}});
  train.class_names = names;
  test.class_names = names;
  adapt(train, options.channels, options.height, options.width, train_images.string());
  adapt(test, options.channels, options.height, options.width, test_images.string());
  DataSource source;
  source.format = DataFormat::idx;
  source.description =
      "IDX files (" + train_images.filename().string() + ", " + test_images.filename().string() +
      ", ...)" + (path_exists(dir / "class-names.txt") ? ", class names from class-names.txt" : "");
  source.train = make_dataset(std::move(train), train_images.string());
  source.test = make_dataset(std::move(test), test_images.string());
  return source;
}

// ---- CIFAR-10 ----

DataSource load_cifar(const fs::path& dir, const DataOptions& options) {
  CifarSplits splits = load_cifar10(dir);
  adapt(splits.train, options.channels, options.height, options.width, dir.string());
  adapt(splits.test, options.channels, options.height, options.width, dir.string());
  DataSource source;
  source.format = DataFormat::cifar10;
  source.description =
      "CIFAR-10 binary batches (data_batch_1.bin to data_batch_5.bin, test_batch.bin)";
  if (!splits.names_from_meta) {
    source.notes.push_back(dir.string() +
                           ": no batches.meta.txt, so the classes are known by number only");
  }
  source.train = make_dataset(std::move(splits.train), (dir / "data_batch_1.bin").string());
  source.test = make_dataset(std::move(splits.test), (dir / "test_batch.bin").string());
  return source;
}

// ---- CSV ----

CsvShape csv_shape(const DataOptions& options) {
  return CsvShape{options.channels, options.height, options.width};
}

// A labelled CSV file; channels converted when the rows' channels differ from options.channels.
LabelledImages read_labelled_csv(const fs::path& path, const DataOptions& options) {
  LabelledImages images = load_labelled_csv(path, csv_shape(options));
  adapt(images, options.channels, 0, 0, path.string());
  return images;
}

DataSource load_csv(const fs::path& path, const DataOptions& options) {
  DataSource source;
  source.format = DataFormat::csv;
  if (!fs::is_directory(path)) {
    LabelledImages all = read_labelled_csv(path, options);
    source.description =
        "CSV file " + path.filename().string() + " (one set, split for validation)";
    source.train = make_dataset(std::move(all), path.string());
    return source;
  }
  const fs::path train_path = *raw_or_gz(path, "train.csv");
  LabelledImages train = read_labelled_csv(train_path, options);
  std::vector<std::pair<fs::path, LabelledImages*>> parts{{train_path, &train}};
  std::optional<LabelledImages> validation, test;
  source.description = "CSV files (" + train_path.filename().string();
  // Every part has the training rows' shape.
  DataOptions shaped = options;
  shaped.channels = train.image[0];
  shaped.height = train.image[1];
  shaped.width = train.image[2];
  if (const auto val_path = raw_or_gz(path, "val.csv")) {
    validation = read_labelled_csv(*val_path, shaped);
    parts.push_back({*val_path, &*validation});
    source.description += ", " + val_path->filename().string();
  }
  if (const auto test_path = raw_or_gz(path, "test.csv")) {
    CsvPixels pixels = load_pixel_csv(*test_path, train.image);
    if (pixels.labels) {
      test = LabelledImages{pixels.image, std::move(pixels.pixels), std::move(*pixels.labels),
                            numbered_class_names(largest_label(*pixels.labels) + 1)};
      parts.push_back({*test_path, &*test});
      source.description += ", " + test_path->filename().string();
    } else {
      source.notes.push_back(test_path->string() +
                             " has no label column, so it is not used as a test set; classify its "
                             "rows with cnn predict --model MODEL --csv " +
                             test_path->string());
    }
  }
  // The classes of all parts: named by class-names.txt, else numbered up to the largest label.
  std::vector<LabelsOf> labels;
  std::size_t classes = 0;
  for (const auto& [file, part] : parts) {
    labels.push_back({file, &part->labels});
    classes = std::max(classes, part->class_names.size());
  }
  std::optional<std::vector<std::string>> named = names_from_file(path, labels);
  if (named) source.description += ", class names from class-names.txt";
  const std::vector<std::string> names = named ? std::move(*named) : numbered_class_names(classes);
  for (const auto& [file, part] : parts) part->class_names = names;
  source.description += ")";
  source.train = make_dataset(std::move(train), train_path.string());
  if (validation) source.validation = make_dataset(std::move(*validation), "val.csv");
  if (test) source.test = make_dataset(std::move(*test), "test.csv");
  return source;
}

// ---- image folders ----

DataSource load_folders(const fs::path& dir, const DataOptions& options) {
  ImageFolderOptions folder_options;
  folder_options.channels = options.channels;
  folder_options.height = options.height;
  folder_options.width = options.width;
  folder_options.skip_bad_images = options.skip_bad_images;
  folder_options.cache_dir = options.cache_dir;
  folder_options.progress = options.progress;
  ImageFolderSplits splits = load_image_folders(dir, folder_options);
  DataSource source;
  source.format = DataFormat::image_folders;
  const bool layered = path_exists(dir / "train");
  source.description = layered ? "image folders (train/" : "image folders (one set of classes";
  const auto take = [&](ImageFolderSet& set, const std::string& part) {
    source.skipped.insert(source.skipped.end(), set.skipped.begin(), set.skipped.end());
    if (set.ignored_files > 0) {
      source.notes.push_back((dir / part).string() + ": " + std::to_string(set.ignored_files) +
                             " file" + (set.ignored_files == 1 ? "" : "s") +
                             " that are not .png, .jpg, .jpeg, .pgm or .ppm images ignored");
    }
    for (const std::string& warning : set.cache_warnings) source.notes.push_back(warning);
    source.from_cache = source.from_cache || set.from_cache;
    return make_dataset(std::move(set.images), (dir / part).string());
  };
  source.train = take(splits.train, layered ? "train" : "");
  if (splits.validation) {
    source.validation = take(*splits.validation, "val");
    source.description += ", val/";
  }
  if (splits.test) {
    source.test = take(*splits.test, "test");
    source.description += ", test/";
  }
  source.description += layered ? ")" : ", split for validation)";
  return source;
}

}  // namespace

std::string format_name(DataFormat format) {
  switch (format) {
    case DataFormat::idx:
      return "IDX files";
    case DataFormat::cifar10:
      return "CIFAR-10 batches";
    case DataFormat::csv:
      return "CSV";
    case DataFormat::image_folders:
      return "image folders";
  }
  return "data";
}

std::optional<DataFormat> detect_data_format(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  if (!fs::is_directory(path, ec)) {
    return is_csv_file(path) ? std::optional(DataFormat::csv) : std::nullopt;
  }
  if (raw_or_gz(path, "train-images-idx3-ubyte") || raw_or_gz(path, "t10k-images-idx3-ubyte")) {
    return DataFormat::idx;
  }
  if (path_exists(path / "data_batch_1.bin") || path_exists(path / "test_batch.bin")) {
    return DataFormat::cifar10;
  }
  if (raw_or_gz(path, "train.csv")) return DataFormat::csv;
  if (is_image_folder_root(path)) return DataFormat::image_folders;
  return std::nullopt;
}

namespace {

DataSource load_found(const fs::path& path, const DataOptions& options) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw DataError(path.string() +
                    ": data folder or file not found (for MNIST: "
                    "scripts/fetch-mnist.sh " +
                    path.string() + ")");
  }
  if (!fs::is_directory(path, ec) && !is_csv_file(path)) {
    throw DataError(path.string() +
                    ": not a data set cnn reads: a file must be a CSV (.csv or .csv.gz); other "
                    "formats are folders");
  }
  if (const auto format = detect_data_format(path)) {
    switch (*format) {
      case DataFormat::idx:
        return load_idx(path, options);
      case DataFormat::cifar10:
        return load_cifar(path, options);
      case DataFormat::csv:
        return load_csv(path, options);
      case DataFormat::image_folders:
        return load_folders(path, options);
    }
  }
  throw DataError(
      path.string() +
      ": not a data set cnn recognises; looked for IDX files (train-images-idx3-ubyte, "
      "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each raw or .gz), "
      "CIFAR-10 batches (data_batch_1.bin ... data_batch_5.bin, test_batch.bin), CSV files "
      "(train.csv, optional val.csv and test.csv), and image folders (train/<class>/ and "
      "test/<class>/, or <class>/ folders, holding .png, .jpg, .jpeg, .pgm or .ppm images)");
}

}  // namespace

DataSource load_data_source(const fs::path& path, const DataOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  DataSource source = load_found(path, options);
  source.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return source;
}

std::vector<std::size_t> class_counts(const Dataset& data) {
  std::vector<std::size_t> counts(data.classes());
  for (std::size_t i = 0; i < data.size(); ++i) ++counts[static_cast<std::size_t>(data.label(i))];
  return counts;
}

StratifiedSplit split_stratified(const Dataset& data, std::size_t validation, std::uint64_t seed) {
  if (validation >= data.size()) {
    throw DataError("cannot hold out " + std::to_string(validation) + " validation images of " +
                    std::to_string(data.size()));
  }
  const std::size_t classes = data.classes();
  std::vector<std::vector<std::uint32_t>> members(classes);
  for (std::size_t i = 0; i < data.size(); ++i) {
    members[static_cast<std::size_t>(data.label(i))].push_back(static_cast<std::uint32_t>(i));
  }
  // Each class's share of the validation images, by largest remainders.
  std::vector<std::size_t> share(classes);
  std::vector<std::pair<std::size_t, std::size_t>> remainders;  // (remainder, class)
  std::size_t given = 0;
  for (std::size_t c = 0; c < classes; ++c) {
    const std::size_t product = validation * members[c].size();
    share[c] = product / data.size();
    given += share[c];
    remainders.push_back({product % data.size(), c});
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t k = 0; given < validation; ++k, ++given) ++share[remainders[k].second];

  std::vector<bool> held_out(data.size(), false);
  for (std::size_t c = 0; c < classes; ++c) {
    // Fisher-Yates with the class in the seed, so each class's choice stands alone.
    Rng rng(mix_key(seed, c));
    std::vector<std::uint32_t>& m = members[c];
    for (std::size_t i = m.size(); i > 1; --i) {
      std::swap(m[i - 1], m[rng.next_u64() % i]);
    }
    for (std::size_t k = 0; k < share[c]; ++k) held_out[m[k]] = true;
  }
  std::vector<std::uint32_t> train_indices, validation_indices;
  for (std::size_t i = 0; i < data.size(); ++i) {
    (held_out[i] ? validation_indices : train_indices).push_back(static_cast<std::uint32_t>(i));
  }
  return {data.select(train_indices), data.select(validation_indices)};
}

bool digit_classes(const std::vector<std::string>& names) {
  return names == numbered_class_names(10);
}

Dataset relabel_for(const Dataset& data, const std::vector<std::string>& model_classes,
                    const std::string& name) {
  const std::vector<std::string>& names = data.class_names();
  if (names == model_classes) return data;
  std::vector<std::uint8_t> map(names.size());
  std::vector<std::string> unknown;
  for (std::size_t c = 0; c < names.size(); ++c) {
    const auto found = std::find(model_classes.begin(), model_classes.end(), names[c]);
    if (found == model_classes.end()) {
      unknown.push_back(names[c]);
    } else {
      map[c] = static_cast<std::uint8_t>(found - model_classes.begin());
    }
  }
  if (!unknown.empty()) {
    // Only classes that hold images matter: a numbered set may name more than it has.
    const std::vector<std::size_t> counts = class_counts(data);
    std::string missing;
    std::size_t used = 0;
    for (std::size_t c = 0; c < names.size(); ++c) {
      if (counts[c] == 0 || std::find(unknown.begin(), unknown.end(), names[c]) == unknown.end()) {
        continue;
      }
      missing += (used++ == 0 ? "" : ", ") + names[c];
    }
    if (used > 0) {
      std::string known;
      for (std::size_t c = 0; c < model_classes.size() && c < 12; ++c) {
        known += (c == 0 ? "" : ", ") + model_classes[c];
      }
      if (model_classes.size() > 12) known += ", ...";
      throw DataError(name + ": class" + (used == 1 ? " " : "es ") + missing +
                      (used == 1 ? " is" : " are") + " not among the model's classes (" + known +
                      ")");
    }
  }
  LabelledImages relabelled{data.image_shape(), {}, {}, model_classes};
  relabelled.pixels.resize(data.size() * data.image_bytes());
  relabelled.labels.resize(data.size());
  for (std::size_t i = 0; i < data.size(); ++i) {
    std::copy(data.image(i), data.image(i) + data.image_bytes(),
              relabelled.pixels.begin() + static_cast<long>(i * data.image_bytes()));
    relabelled.labels[i] = map[static_cast<std::size_t>(data.label(i))];
  }
  return Dataset(std::move(relabelled)).with_normalization(data.normalization());
}

ValidationSplit validation_split(const DataSource& source, std::size_t count,
                                 std::uint64_t split_seed) {
  if (source.validation) return {source.train, *source.validation, ValidationChoice::own};
  const Dataset& all = source.train;
  if (count >= all.size()) {
    throw std::invalid_argument("must be less than the " + std::to_string(all.size()) +
                                " training images, got " + std::to_string(count));
  }
  if (source.format == DataFormat::idx || source.format == DataFormat::cifar10) {
    return {all.slice(0, all.size() - count), all.slice(all.size() - count, count),
            ValidationChoice::last};
  }
  if (count == 0) return {all, all.slice(0, 0), ValidationChoice::none};
  StratifiedSplit split = split_stratified(all, count, split_seed);
  return {std::move(split.train), std::move(split.validation), ValidationChoice::stratified};
}

}  // namespace cnn
