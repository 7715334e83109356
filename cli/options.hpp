// Flag validation shared by the commands: each check names the flag and what it allows, and
// CLI11 reports the failure as a usage error (exit code 2).
#pragma once

#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <string>

namespace cnn::cli {

inline CLI::Validator integer_at_least(long long minimum, long long maximum = 1LL << 40) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        long long value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc() || end != text.data() + text.size() || value < minimum ||
            value > maximum) {
          return "must be an integer from " + std::to_string(minimum) + " to " +
                 std::to_string(maximum) + ", got '" + text + "'";
        }
        return {};
      },
      "INT >= " + std::to_string(minimum));
}

// A finite number in the interval; open_low/open_high exclude the ends.
inline CLI::Validator number_in(double low, double high, bool open_low, bool open_high,
                                const std::string& description) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        double value = 0;
        std::size_t used = 0;
        try {
          value = std::stod(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        const bool ok = used == text.size() && used > 0 && std::isfinite(value) &&
                        (open_low ? value > low : value >= low) &&
                        (open_high ? value < high : value <= high);
        return ok ? std::string{} : "must be " + description + ", got '" + text + "'";
      },
      description);
}

}  // namespace cnn::cli
