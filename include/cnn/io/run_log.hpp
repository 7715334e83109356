// The metrics log of a training run: one CSV line per logged step, written while training runs
// (flushed line by line, so an interrupted run keeps what it logged) and read back by `cnn plot`.
//
//   step,epoch,loss,learning_rate,validation_accuracy,images_per_second,wall_seconds
//   50,1,1.234567,0.0099995,,812.5,0.25
//
// loss is the mean training loss of the batches since the previous line; validation_accuracy is
// empty on lines where the run did not evaluate; wall_seconds and images_per_second count the
// wall time of training so far, validation runs excluded (cnn train reports them separately); a
// resumed run continues the log of the run it resumes, its totals included.
#pragma once

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <vector>

#include "cnn/data/idx.hpp"

namespace cnn {

struct MetricsRow {
  std::size_t step = 0;
  std::size_t epoch = 0;
  double loss = 0.0;
  double learning_rate = 0.0;
  std::optional<double> validation_accuracy;
  double images_per_second = 0.0;
  double wall_seconds = 0.0;
};

inline constexpr const char* kMetricsHeader =
    "step,epoch,loss,learning_rate,validation_accuracy,images_per_second,wall_seconds";

class MetricsWriter {
 public:
  // Creates (truncates) the file and writes the header; with `append`, adds to the file instead
  // (writing the header only when there is none yet). Throws DataError naming the file.
  explicit MetricsWriter(const std::filesystem::path& path, bool append = false);
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

  // Appends and flushes one line; throws DataError when the write fails.
  void write(const MetricsRow& row);

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

// Prepares a metrics log for a run resumed at `step`: keeps the header and the lines of steps up
// to `step`, dropping those a run killed after its last checkpoint had logged beyond it (and a
// line cut short). The kept lines go to a temporary file renamed over the log, so a kill midway
// loses nothing. Returns the number of lines dropped; a missing log is left missing (0). Throws
// DataError naming the file when it is not a metrics log or cannot be rewritten.
std::size_t cut_metrics_after(const std::filesystem::path& path, std::size_t step);

// Reads a metrics log; throws DataError naming the file and line for: a missing file, a wrong
// header, a line with the wrong number of fields, a field that is not a number, steps that do not
// increase. An empty log (header only) is valid.
std::vector<MetricsRow> read_metrics(const std::filesystem::path& path);

}  // namespace cnn
