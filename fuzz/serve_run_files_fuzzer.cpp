// Fuzz target for the readers of a run folder's files in cnn serve (serve/run_files.hpp): a
// metrics log being written (its last line may be cut anywhere), test_predictions.csv, and the
// command line recorded in run.json turned into settings. The readers' contract is DataError for
// what they cannot use and no exception at all from settings_from_command; anything else, a
// crash or a read out of bounds is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cnn/data/idx.hpp"
#include "run_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto rows = cnn::serve::parse_metrics_lines(text, 2, "fuzz-input");
    for (const cnn::MetricsRow& row : rows) {
      if (row.step <= 2) __builtin_trap();  // only rows after `since`
    }
  } catch (const cnn::DataError&) {
  }
  try {
    const cnn::serve::PredictionsTable table = cnn::serve::parse_predictions(text, "fuzz-input");
    if (table.predicted.size() != table.labels.size() ||
        table.confidence.size() != table.labels.size() ||
        table.logits.size() != table.labels.size() * table.classes) {
      __builtin_trap();
    }
    for (std::size_t i = 0; i < table.labels.size(); ++i) {
      if (table.labels[i] < 0 || table.predicted[i] < 0) __builtin_trap();
    }
  } catch (const cnn::DataError&) {
  }
  const auto settings = cnn::serve::settings_from_command(text);
  if (!settings.is_object()) __builtin_trap();
  (void)settings.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return 0;
}
