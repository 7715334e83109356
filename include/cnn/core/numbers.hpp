// Numbers read from text (command-line flags, architecture text, file metadata) and written back
// into messages. Every reader takes the whole text or nothing: "12x" is not 12.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cnn {

// The integer spelt by all of text (decimal, or another base), or nothing when text is empty, has
// anything else in it, or does not fit in T.
template <class T>
std::optional<T> parse_integer(std::string_view text, int base = 10) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// The finite number spelt by all of text (as strtod reads it: leading white space, a sign,
// decimal or hexadecimal), or nothing for an empty text, trailing characters, an infinity, NaN,
// or a value out of the double range.
std::optional<double> parse_finite(const std::string& text);

// A range of real numbers, each end open or closed, such as (0, 1] for a learning-rate factor.
struct Interval {
  double low = 0.0, high = 0.0;
  bool open_low = false, open_high = false;

  bool contains(double value) const {
    return (open_low ? value > low : value >= low) && (open_high ? value < high : value <= high);
  }
  // "(0, 1]", "[0.5, 20]"
  std::string to_string() const;
};

// Fixed notation without trailing zeros: 16777216, 0.5, 0.00001 (for bounds in messages).
std::string plain_number(double value);

// The shortest form of a number as a person writes it: 0.01, 1e-05, 2 (std::ostream's default).
std::string format_number(double value);

}  // namespace cnn
