#include "run_folder.hpp"

#include <algorithm>
#include <ctime>

#include "cnn/data/image.hpp"
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

void write_test_results(const fs::path& run, const Dataset& test, const Evaluation& evaluation) {
  write_predictions_csv(run / "test_predictions.csv", test, evaluation, "run folder");

  const std::size_t count = std::min(kSampleCount, test.size());
  const std::size_t rows = (count + kSampleColumns - 1) / kSampleColumns;
  GrayImage mosaic{kSampleColumns * test.cols(), rows * test.rows(), {}};
  mosaic.pixels.assign(mosaic.width * mosaic.height, 0);
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint8_t* image = test.image(i);
    const std::size_t x0 = (i % kSampleColumns) * test.cols(),
                      y0 = (i / kSampleColumns) * test.rows();
    for (std::size_t y = 0; y < test.rows(); ++y) {
      std::copy(image + y * test.cols(), image + (y + 1) * test.cols(),
                mosaic.pixels.begin() + static_cast<long>((y0 + y) * mosaic.width + x0));
    }
  }
  write_pgm(run / "samples.pgm", mosaic);
}

std::vector<fs::path> draw_run_pictures(const fs::path& run, const std::string& title) {
  std::vector<fs::path> written;
  const std::vector<MetricsRow> rows = read_metrics(run / "metrics.csv");
  plot_loss(run / "loss.png", rows, title + ": training loss and validation accuracy");
  written.push_back(run / "loss.png");

  const PredictionsCsv tests = read_predictions_csv(run / "test_predictions.csv");
  std::int32_t largest = 1;
  for (std::size_t i = 0; i < tests.labels.size(); ++i) {
    largest = std::max({largest, tests.labels[i], tests.predicted[i]});
  }
  const Evaluation evaluation = evaluation_from(static_cast<std::size_t>(largest) + 1, tests.labels,
                                                tests.predicted, tests.confidence);
  plot_confusion(run / "confusion.png", evaluation, title + ", test set");
  written.push_back(run / "confusion.png");

  const fs::path samples_path = run / "samples.pgm";
  GrayImage samples;
  try {
    samples = read_image(samples_path);
  } catch (const ImageError& e) {
    throw DataError(e.what());
  }
  const std::size_t side = samples.width / kSampleColumns;
  if (side == 0 || samples.width % kSampleColumns != 0 || samples.height % side != 0) {
    throw DataError(samples_path.string() + ": " + std::to_string(samples.width) + "x" +
                    std::to_string(samples.height) + " is not a mosaic of " +
                    std::to_string(kSampleColumns) + " square images a row");
  }
  const std::size_t count = std::min(tests.labels.size(), kSampleColumns * (samples.height / side));
  std::vector<PredictedImage> images;
  for (std::size_t i = 0; i < count; ++i) {
    PredictedImage p;
    p.image = {side, side, std::vector<std::uint8_t>(side * side)};
    const std::size_t x0 = (i % kSampleColumns) * side, y0 = (i / kSampleColumns) * side;
    for (std::size_t y = 0; y < side; ++y) {
      for (std::size_t x = 0; x < side; ++x)
        p.image.pixels[y * side + x] = samples.at(x0 + x, y0 + y);
    }
    p.label = tests.labels[i];
    p.predicted = tests.predicted[i];
    p.confidence = tests.confidence[i];
    images.push_back(std::move(p));
  }
  plot_predictions(run / "predictions.png", images, kSampleColumns,
                   title + ": the first " + std::to_string(count) + " test images");
  written.push_back(run / "predictions.png");
  return written;
}

}  // namespace cnn::cli
