// The folder of a training run and what goes in it:
//   metrics.csv           the metrics log (cnn/run_log.hpp), written while training runs
//   model.safetensors     the trained model
//   test_predictions.csv  every test image's label, prediction, confidence and logits
//                         (predictions_csv.hpp)
//   samples.pgm           the first test images (up to 100) side by side, 10 a row, for the grid
//   loss.png predictions.png confusion.png   drawn from the files above (`cnn plot` redraws them)
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "cnn/data/dataset.hpp"
#include "cnn/train/evaluation.hpp"

namespace cnn::cli {

inline constexpr std::size_t kSampleCount = 100, kSampleColumns = 10;

// --out DIR (created with its parents; refused with a UsageError when it already holds a run's
// metrics.csv), or a new folder runs/<YYYYmmdd-HHMMSS>-<preset> (with -2, -3... appended when that
// exists, so an earlier run is never overwritten).
std::filesystem::path make_run_folder(const std::string& out, const std::string& preset);

// Writes test_predictions.csv and samples.pgm for the test set and its evaluation.
void write_test_results(const std::filesystem::path& run, const Dataset& test,
                        const Evaluation& evaluation);

// Draws loss.png, predictions.png and confusion.png from the files of the run folder; the title
// names the run. Returns the pictures written. Throws DataError / PlotError naming the file.
std::vector<std::filesystem::path> draw_run_pictures(const std::filesystem::path& run,
                                                     const std::string& title);

}  // namespace cnn::cli
