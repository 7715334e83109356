// Reading the files of a run folder (cli/run_folder.hpp lists them) for `cnn serve`, while
// `cnn train` may be writing them: only ever reading, never a lock taken for writing, never a
// file created.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cnn/io/run_log.hpp"

namespace cnn::serve {

// The complete lines of a metrics log's text (cnn/io/run_log.hpp's format): a last line without
// its '\n' is being written and is left for the next read. Rows with step <= `since` are
// skipped. Throws DataError naming `name` and the line for a wrong header, a wrong field count, a
// field that is not a number. Empty text (the file just created) gives no rows.
std::vector<MetricsRow> parse_metrics_lines(std::string_view text, std::size_t since,
                                            const std::string& name);

// test_predictions.csv (cli/predictions_csv.hpp's format: index,label,predicted,confidence and
// the logits, which older files lack).
struct PredictionsTable {
  std::vector<std::int32_t> labels, predicted;
  std::vector<float> confidence;
  std::size_t classes = 0;    // logit columns (0: the four-column format)
  std::vector<float> logits;  // labels.size() x classes
};
// Throws DataError naming `name` and the line for anything else, and for a label or prediction
// below 0 or above 100000.
PredictionsTable parse_predictions(std::string_view text, const std::string& name);

// The flags of a command line as run.json records it ("cnn train --data d --lr 0.01 --no-test"):
// {"data": "d", "lr": "0.01", "no-test": true}. Words are split as a POSIX shell splits them for
// the quoting run.json uses ('...' with '\'' for a quote). A flag followed by another flag (or
// nothing) is a switch (true); "--name=value" gives value; words that are no flag's value (the
// program and command names) are left out. Never throws.
nlohmann::json settings_from_command(std::string_view command);

// A run's status for the page: run.json's "status", except that "running" becomes "died" when
// the training process is gone:
// - run.lock exists (cnn train holds an exclusive flock on it while it trains): the lock is free
//   (a shared, non-blocking flock on a read-only descriptor succeeds; released at once) -> died;
//   held -> running. A run.json naming another host than this one (a shared file system, where
//   flock may not reach) is judged as without run.lock.
// - no run.lock (runs of earlier versions): died when metrics.csv (or run.json) was last written
//   more than `stale_seconds` ago, else running.
// record: run.json's object (may be null: "unknown").
std::string run_status(const std::filesystem::path& run, const nlohmann::json& record,
                       double stale_seconds = 600.0);

// This machine's host name (gethostname), as `cnn train` records it in run.json.
std::string this_host_name();

// The text of a whole file, read with one open (never created). nullopt when it cannot be
// opened; throws std::runtime_error naming the file when it is larger than `limit` bytes.
std::optional<std::string> read_file_text(const std::filesystem::path& path,
                                          std::size_t limit = std::size_t{256} << 20);

}  // namespace cnn::serve
