// Flag validation shared by the commands: each check names the flag and what it allows, and
// CLI11 reports the failure as a usage error (exit code 2). Also the flags that several commands
// share, defined once so that they read alike everywhere.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <optional>
#include <string>

#include "cnn/core/numbers.hpp"

namespace cnn::cli {

inline CLI::Validator integer_at_least(long long minimum, long long maximum = 1LL << 40) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        const std::optional<long long> value = parse_integer<long long>(text);
        if (!value || *value < minimum || *value > maximum) {
          return "must be an integer from " + std::to_string(minimum) + " to " +
                 std::to_string(maximum) + ", got '" + text + "'";
        }
        return {};
      },
      "INT >= " + std::to_string(minimum));
}

// A finite number in allowed; description says which, as the help and the error show it.
inline CLI::Validator number_in(Interval allowed, const std::string& description) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        const std::optional<double> value = parse_finite(text);
        const bool ok = value && allowed.contains(*value);
        return ok ? std::string{} : "must be " + description + ", got '" + text + "'";
      },
      description);
}

// --data, the folder of a dataset in MNIST's layout (train, eval).
inline CLI::Option* add_data_option(CLI::App& cmd, std::string& data) {
  return cmd
      .add_option("--data", data, "Folder with the four IDX files of MNIST's layout (raw or .gz)")
      ->required();
}

// --threads (train, eval).
inline CLI::Option* add_threads_option(CLI::App& cmd, std::size_t& threads) {
  return cmd.add_option("--threads", threads, "Threads (0: one per hardware thread)")
      ->check(integer_at_least(0, 1024))
      ->capture_default_str();
}

}  // namespace cnn::cli
