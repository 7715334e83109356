#include "run_folder.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <span>
#include <sstream>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "cnn/core/atomic_file.hpp"
#include "cnn/core/version.hpp"
#include "cnn/data/image.hpp"
#include "cnn/io/model_file.hpp"
#include "cnn/io/run_log.hpp"
#include "cnn/plots/plots.hpp"
#include "commands.hpp"
#include "predictions_csv.hpp"

namespace cnn::cli {

namespace fs = std::filesystem;

fs::path make_run_folder(const std::string& out, const std::string& preset) {
  std::error_code ec;
  if (!out.empty()) {
    const fs::path folder(out);
    if (fs::exists(folder, ec) && !fs::is_directory(folder, ec)) {
      throw UsageError("--out: '" + out + "' is a file, not a folder");
    }
    if (fs::exists(folder / "metrics.csv", ec)) {
      throw UsageError("--out: '" + out +
                       "' already holds a training run (metrics.csv); choose another folder");
    }
    fs::create_directories(folder, ec);
    if (ec) throw UsageError("--out: cannot create folder '" + out + "': " + ec.message());
    return folder;
  }
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
  fs::create_directories("runs", ec);
  if (ec) throw std::runtime_error("cannot create folder 'runs': " + ec.message());
  const std::string base = std::string("runs/") + stamp + "-" + preset;
  for (int attempt = 1; attempt < 1000; ++attempt) {
    const fs::path folder = attempt == 1 ? base : base + "-" + std::to_string(attempt);
    // create_directory reports false, without error, when the folder exists: try the next name.
    if (fs::create_directory(folder, ec)) return folder;
    if (ec)
      throw std::runtime_error("cannot create folder '" + folder.string() + "': " + ec.message());
  }
  throw std::runtime_error("cannot find a free folder name like '" + base + "'");
}

fs::path resume_run_folder(const std::string& recorded, const std::string& out,
                           std::size_t iteration) {
  std::error_code ec;
  const fs::path folder(recorded);
  if (fs::is_directory(folder, ec)) {
    if (!out.empty() && !fs::equivalent(out, folder, ec)) {
      throw UsageError("--out: the checkpoint's run is in folder '" + recorded + "', not '" + out +
                       "'; a resumed run continues in its own folder: leave --out out or give "
                       "that folder");
    }
    return folder;
  }
  // Gone: continue where --out says (a user who moved the folder names its new place), else
  // where it was.
  const fs::path target = out.empty() ? folder : fs::path(out);
  if (fs::exists(target, ec) && !fs::is_directory(target, ec)) {
    throw UsageError("--out: '" + out + "' is a file, not a folder");
  }
  fs::create_directories(target, ec);
  if (ec) {
    throw std::runtime_error("cannot create the run folder '" + target.string() +
                             "': " + ec.message());
  }
  std::fprintf(stderr, "cnn: warning: the checkpoint's run folder '%s' is gone; continuing in '%s'",
               recorded.c_str(), target.c_str());
  if (!fs::exists(target / "metrics.csv", ec)) {
    std::fprintf(stderr, ", whose metrics log starts at iteration %zu", iteration + 1);
  }
  std::fprintf(stderr, "\n");
  return target;
}

namespace {

// ISO 8601 in UTC, to the second.
std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// The command line of this process, from /proc (Linux), words shell-quoted where needed.
std::string this_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  const std::string raw = contents.str();
  std::string line;
  std::size_t begin = 0;
  while (begin < raw.size()) {
    const std::size_t end = std::min(raw.find('\0', begin), raw.size());
    std::string word = raw.substr(begin, end - begin);
    if (line.empty()) word = fs::path(word).filename().string();  // "cnn", not the build path
    const bool plain = !word.empty() && word.find_first_not_of(
                                            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789_-./=:,+@%") == std::string::npos;
    if (!plain) {
      std::string quoted = "'";
      for (const char ch : word) quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
      word = quoted + "'";
    }
    line += (line.empty() ? "" : " ") + word;
    begin = end + 1;
  }
  return line;
}

}  // namespace

RunRecord::RunRecord(const fs::path& run, const std::string& data, bool resumed)
    : path_(run.empty() ? fs::path() : run / "run.json") {
  if (path_.empty()) return;  // a process of a data-parallel run other than the first
  const fs::path lock = run / "run.lock";
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
  if (lock_fd_ < 0) {
    throw std::runtime_error(lock.string() + ": cannot create: " + std::strerror(errno));
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(lock_fd_);
    lock_fd_ = -1;
    if (error == EWOULDBLOCK) {
      throw UsageError("the run folder '" + run.string() +
                       "' is in use: another cnn train process trains in it (it holds " +
                       lock.string() + ")");
    }
    throw std::runtime_error(lock.string() + ": cannot lock: " + std::strerror(error));
  }
  if (resumed) {
    std::ifstream in(path_);
    if (in) {
      record_ = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
      if (!record_.is_object()) record_ = nlohmann::json::object();  // unreadable: start anew
    }
  }
  const std::string now = utc_now(), command = this_command_line();
  if (!record_.contains("started")) {
    record_["started"] = now;
    record_["command"] = command;
  } else {
    record_["resumed"].push_back(now);
    record_["resume_commands"].push_back(command);
  }
  record_["data"] = fs::absolute(data).lexically_normal().string();
  record_["version"] = version();
  record_["status"] = "running";
  record_["pid"] = static_cast<long long>(::getpid());
  char host[256] = {};
  record_["host"] = ::gethostname(host, sizeof host - 1) == 0 ? std::string(host) : std::string();
  for (const char* stale : {"ended", "error", "resume_command"}) record_.erase(stale);
  write();
}

RunRecord::~RunRecord() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // closing drops the flock
}

void RunRecord::set(const std::string& key, nlohmann::json value) {
  record_[key] = std::move(value);
}

void RunRecord::end(const std::string& status) {
  record_["status"] = status;
  record_["ended"] = utc_now();
  write();
}

void RunRecord::write() const {
  if (path_.empty()) return;
  const std::string text = record_.dump(2) + "\n";
  write_file_atomically(path_, {std::as_bytes(std::span(text))});
}

RunPictureStyle read_run_picture_style(const fs::path& run) {
  RunPictureStyle style;
  const fs::path path = run / "run.json";
  std::ifstream in(path);
  if (!in) return style;  // a run folder of an early version: numbers, ink on paper
  const nlohmann::json record = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!record.is_object()) throw DataError(path.string() + ": not a JSON object");
  if (const auto names = record.find("class_names"); names != record.end()) {
    if (!names->is_array() || names->empty()) {
      throw DataError(path.string() + ": class_names must be an array of class names");
    }
    for (std::size_t c = 0; c < names->size(); ++c) {
      if (!(*names)[c].is_string()) {
        throw DataError(path.string() + ": class_names[" + std::to_string(c) + "] is not a string");
      }
      style.class_names.push_back((*names)[c].get<std::string>());
    }
  }
  if (const auto preparation = record.find("preparation"); preparation != record.end()) {
    const std::optional<Preparation> parsed =
        preparation->is_string() ? parse_preparation(preparation->get<std::string>())
                                 : std::nullopt;
    if (!parsed) throw DataError(path.string() + ": preparation must be \"digit\" or \"resize\"");
    style.grey = *parsed == Preparation::digit ? GreyDrawing::ink_on_paper : GreyDrawing::as_is;
  }
  return style;
}

std::size_t sample_index(std::size_t k, std::size_t shown, std::size_t total) {
  return k * total / shown;
}

void write_test_results(const fs::path& run, const Dataset& test, const Evaluation& evaluation) {
  write_predictions_csv(run / "test_predictions.csv", test, evaluation, "run folder");

  const std::size_t count = std::min(kSampleCount, test.size());
  const std::size_t rows = (count + kSampleColumns - 1) / kSampleColumns;
  const std::size_t channels = test.channels(), height = test.rows(), width = test.cols();
  Image mosaic{channels, rows * height, kSampleColumns * width, {}};
  mosaic.pixels.assign(channels * mosaic.height * mosaic.width, 0);
  for (std::size_t i = 0; i < count; ++i) {
    // Spread over the set: image folders and CSV files may list the images class by class.
    const std::uint8_t* image = test.image(sample_index(i, count, test.size()));  // planar
    const std::size_t x0 = (i % kSampleColumns) * width, y0 = (i / kSampleColumns) * height;
    for (std::size_t c = 0; c < channels; ++c) {
      for (std::size_t y = 0; y < height; ++y) {
        const std::uint8_t* from = image + (c * height + y) * width;
        std::copy(from, from + width,
                  mosaic.pixels.begin() +
                      static_cast<long>((c * mosaic.height + y0 + y) * mosaic.width + x0));
      }
    }
  }
  write_png(run / "samples.png", mosaic);
}

namespace {

// The sample mosaic of the run folder: samples.png, or samples.pgm of earlier versions.
Image read_samples(const fs::path& run, fs::path& used) {
  used = run / "samples.png";
  std::error_code ec;
  if (!fs::exists(used, ec) && fs::exists(run / "samples.pgm", ec)) used = run / "samples.pgm";
  try {
    return read_image_natural(used);
  } catch (const ImageError& e) {
    throw DataError(e.what());
  }
}

}  // namespace

std::vector<fs::path> draw_run_pictures(const fs::path& run, const std::string& title,
                                        const std::vector<std::string>& class_names,
                                        GreyDrawing grey) {
  std::vector<fs::path> written;
  const std::vector<MetricsRow> rows = read_metrics(run / "metrics.csv");
  plot_loss(run / "loss.png", rows, title + ": training loss and validation accuracy");
  written.push_back(run / "loss.png");

  const fs::path csv_path = run / "test_predictions.csv";
  const PredictionsCsv tests = read_predictions_csv(csv_path);
  std::int32_t largest = 1;
  for (std::size_t i = 0; i < tests.labels.size(); ++i) {
    largest = std::max({largest, tests.labels[i], tests.predicted[i]});
  }
  std::size_t classes = static_cast<std::size_t>(largest) + 1;
  if (!class_names.empty()) {
    // Two named classes of which only class 0 occurs still make a 2x2 matrix.
    if (static_cast<std::size_t>(largest) >= class_names.size()) {
      throw DataError(csv_path.string() + ": class " + std::to_string(largest) + " occurs, but " +
                      std::to_string(class_names.size()) + " classes are named");
    }
    classes = class_names.size();
  }
  const Evaluation evaluation =
      evaluation_from(classes, tests.labels, tests.predicted, tests.confidence);
  plot_confusion(run / "confusion.png", evaluation, title + ", test set", class_names);
  written.push_back(run / "confusion.png");

  fs::path samples_path;
  const Image samples = read_samples(run, samples_path);
  // The mosaic is kSampleColumns images wide and as many rows high as its images fill.
  const std::size_t shown = std::min(kSampleCount, tests.labels.size());
  const std::size_t mosaic_rows = (shown + kSampleColumns - 1) / kSampleColumns;
  if (mosaic_rows == 0 || samples.width % kSampleColumns != 0 ||
      samples.height % mosaic_rows != 0) {
    throw DataError(samples_path.string() + ": " + std::to_string(samples.width) + "x" +
                    std::to_string(samples.height) + " is not a mosaic of " +
                    std::to_string(kSampleColumns) + " images a row in " +
                    std::to_string(mosaic_rows) + " rows (the " + std::to_string(shown) +
                    " first images of " + csv_path.filename().string() + ")");
  }
  const std::size_t width = samples.width / kSampleColumns, height = samples.height / mosaic_rows;
  const std::size_t channels = samples.channels;
  const bool legacy = samples_path.filename() == "samples.pgm";
  std::vector<PredictedImage> images;
  for (std::size_t i = 0; i < shown; ++i) {
    PredictedImage p;
    p.image = {channels, height, width, std::vector<std::uint8_t>(channels * height * width)};
    const std::size_t x0 = (i % kSampleColumns) * width, y0 = (i / kSampleColumns) * height;
    for (std::size_t c = 0; c < channels; ++c) {
      for (std::size_t y = 0; y < height; ++y) {
        for (std::size_t x = 0; x < width; ++x) {
          p.image.pixels[(c * height + y) * width + x] = samples.at(c, y0 + y, x0 + x);
        }
      }
    }
    // samples.png holds images spread over the test set; samples.pgm the first ones.
    const std::size_t row = legacy ? i : sample_index(i, shown, tests.labels.size());
    p.label = tests.labels[row];
    p.predicted = tests.predicted[row];
    p.confidence = tests.confidence[row];
    images.push_back(std::move(p));
  }
  plot_predictions(
      run / "predictions.png", images, kSampleColumns,
      title + (legacy ? ": the first " + std::to_string(shown) + " test images"
                      : ": " + std::to_string(shown) + " test images" +
                            (shown < tests.labels.size()
                                 ? " spread over the " + std::to_string(tests.labels.size())
                                 : "")),
      class_names, grey);
  written.push_back(run / "predictions.png");
  return written;
}

}  // namespace cnn::cli
