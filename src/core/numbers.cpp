#include "cnn/core/numbers.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace cnn {

std::optional<double> parse_finite(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

namespace {

// Fixed notation without trailing zeros (16777216, 0.5), so that bounds read as written.
std::string plain(double value) {
  std::string text = std::to_string(value);
  text.erase(text.find_last_not_of('0') + 1);
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

}  // namespace

std::string Interval::to_string() const {
  std::string text(open_low ? "(" : "[");
  text.append(plain(low)).append(", ").append(plain(high)).append(open_high ? ")" : "]");
  return text;
}

std::string plain_number(double value) {
  return plain(value);
}

std::string format_number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace cnn
