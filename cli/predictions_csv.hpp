// The one CSV format of test predictions, written by `cnn train` (the run folder's
// test_predictions.csv) and `cnn eval --predictions-out`, read by `cnn plot` and by
// tests/interop/pytorch_interop.py:
//
//   index,label,predicted,confidence,logit_0,...,logit_<classes-1>
//
// one line per test image in the test file's order: its label, the predicted class, the softmax
// probability of that class (6 decimals) and the model's raw outputs (9 significant digits, a
// float32 exactly). Run folders of earlier versions hold only the first four columns; they are
// still read (without logits).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "cnn/data/dataset.hpp"
#include "cnn/train/evaluation.hpp"

namespace cnn::cli {

// Writes the evaluation of test to path. Throws std::runtime_error starting with `what` (the
// flag or file to name) when the file cannot be created or written.
void write_predictions_csv(const std::filesystem::path& path, const Dataset& test,
                           const Evaluation& evaluation, const std::string& what);

struct PredictionsCsv {
  std::vector<std::int32_t> labels, predicted;
  std::vector<float> confidence;
  std::size_t classes = 0;    // logit columns; 0 in a file of the four-column format
  std::vector<float> logits;  // labels.size() x classes
};

// Reads a file of either format. Throws DataError naming the file and line.
PredictionsCsv read_predictions_csv(const std::filesystem::path& path);

}  // namespace cnn::cli
