// Flag validation shared by the commands: each check names the flag and what it allows, and
// CLI11 reports the failure as a usage error (exit code 2). Also the flags that several commands
// share, defined once so that they read alike everywhere.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "cnn/core/numbers.hpp"

namespace cnn::cli {

// The largest integer a flag takes when it names no maximum of its own.
inline constexpr long long kNoMaximum = 1LL << 40;

inline CLI::Validator integer_at_least(long long minimum, long long maximum = kNoMaximum) {
  // The description is what --help shows in brackets after the flag's text (HelpFormatter).
  // A power of two from 2^20 up reads better as one: "0 to 2^62".
  std::string largest = std::to_string(maximum);
  for (int power = 20; power < 63; ++power) {
    if (maximum == 1LL << power) largest = "2^" + std::to_string(power);
  }
  const std::string range = maximum == kNoMaximum ? "at least " + std::to_string(minimum)
                                                  : std::to_string(minimum) + " to " + largest;
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        const std::optional<long long> value = parse_integer<long long>(text);
        if (!value || *value < minimum || *value > maximum) {
          return "must be an integer from " + std::to_string(minimum) + " to " +
                 std::to_string(maximum) + ", got '" + text + "'";
        }
        return {};
      },
      range);
}

// Edit distance between a and b, ignoring case: insertions, deletions, substitutions and swaps of
// neighbours (Damerau's optimal string alignment), each 1, so that "trian" is 1 from "train".
std::size_t edit_distance(const std::string& a, const std::string& b);

// The candidate nearest to word when it is close enough to be a slip (1 edit for words of up to
// 5 characters, 2 for longer ones), else "". Ties go to the first candidate.
std::string nearest_name(const std::string& word, const std::vector<std::string>& candidates);

// "; did you mean X?" for the nearest candidate, or "" when none is close.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// A value that must be one of names, matched ignoring case and replaced by the name as written
// there (so "LeNet5" is recorded as "lenet5"). Otherwise: "must be one of a, b, c, got 'x'",
// with the nearest name suggested. Add it with transform(): check() keeps a validator from
// changing the value.
CLI::Validator one_of(const std::vector<std::string>& names);

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

// --help as people read it: "--batch N   Images per mini-batch (1 to 65536, default 4)"
// instead of CLI11's "--batch UINT:INT >= 1=4": a short placeholder after the flag (N for a
// whole number, X for a number, or the option's own type name such as DIR), and the allowed
// range, the default, "required" and the flags it excludes in brackets after the description.
class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_opts(const CLI::Option* option) const override;
  std::string make_option_desc(const CLI::Option* option) const override;
  // What the option's checks allow, as the help shows it ("1 to 65536"), or "".
  static std::string allowed_values(const CLI::Option* option);
};

// --preset (train, lr-find): one of the presets, named in any case, recorded in lower case.
CLI::Option* add_preset_option(CLI::App& cmd, std::string& preset);

// --batch (train, lr-find).
inline CLI::Option* add_batch_option(CLI::App& cmd, std::size_t& batch) {
  return cmd.add_option("--batch", batch, "Images per mini-batch")
      ->check(integer_at_least(1, 1 << 16))
      ->capture_default_str();
}

// --seed (train, lr-find).
template <typename Seed>
CLI::Option* add_seed_option(CLI::App& cmd, Seed& seed) {
  return cmd.add_option("--seed", seed, "Seed for the initial weights and the data order")
      ->check(integer_at_least(0, (1LL << 62)))
      ->capture_default_str();
}

// --threads (train, eval).
inline CLI::Option* add_threads_option(CLI::App& cmd, std::size_t& threads) {
  return cmd
      .add_option("--threads", threads,
                  "Threads (0: one per CPU this process may use: its affinity, a cgroup quota)")
      ->check(integer_at_least(0, 1024))
      ->capture_default_str();
}

}  // namespace cnn::cli
