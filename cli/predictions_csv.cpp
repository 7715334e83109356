#include "predictions_csv.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <span>
#include <stdexcept>

#include "cnn/core/atomic_file.hpp"
#include "cnn/data/idx.hpp"

namespace cnn::cli {

namespace {

constexpr const char* kFirstColumns = "index,label,predicted,confidence";

std::vector<std::string> split_commas(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  for (std::size_t comma; (comma = line.find(',', start)) != std::string::npos; start = comma + 1) {
    fields.push_back(line.substr(start, comma - start));
  }
  fields.push_back(line.substr(start));
  return fields;
}

bool parse_whole_number(const std::string& text, long long minimum, long long maximum,
                        long long& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  value = std::strtoll(text.c_str(), &end, 10);
  return errno == 0 && *end == '\0' && value >= minimum && value <= maximum;
}

bool parse_finite_number(const std::string& text, double& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return *end == '\0' && std::isfinite(value);
}

// Appends printf's text of one field (a number, at most a few dozen characters) to out.
template <class... Args>
void append_format(std::string& out, const char* format, Args... args) {
  char field[96];
  const int length = std::snprintf(field, sizeof field, format, args...);
  if (length > 0) out.append(field, std::min(static_cast<std::size_t>(length), sizeof field - 1));
}

}  // namespace

void write_predictions_csv(const std::filesystem::path& path, const Dataset& test,
                           const Evaluation& evaluation, const std::string& what) {
  // The whole table is made first and written atomically: a failed write leaves the previous
  // file, if any, whole.
  const std::size_t classes = evaluation.logits.empty() ? 0 : evaluation.classes;
  std::string text = kFirstColumns;
  for (std::size_t c = 0; c < classes; ++c) append_format(text, ",logit_%zu", c);
  text += '\n';
  for (std::size_t i = 0; i < evaluation.images(); ++i) {
    append_format(text, "%zu,%d,%d,%.6f", i, test.label(i), evaluation.predicted[i],
                  static_cast<double>(evaluation.confidence[i]));
    for (std::size_t c = 0; c < classes; ++c) {
      append_format(text, ",%.9g", static_cast<double>(evaluation.logits[i * classes + c]));
    }
    text += '\n';
  }
  try {
    write_file_atomically(path, {std::as_bytes(std::span(text))});
  } catch (const FileWriteError& e) {
    throw std::runtime_error(what + ": " + e.what());
  }
}

PredictionsCsv read_predictions_csv(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw DataError(path.string() + ": cannot open (was the run finished?)");
  std::string line;
  const std::string expected_header = std::string(kFirstColumns) + "[,logit_0,...]";
  if (!std::getline(in, line)) {
    throw DataError(path.string() + ": line 1 is not '" + expected_header + "'");
  }
  const std::vector<std::string> header = split_commas(line);
  PredictionsCsv result;
  bool header_ok = line.rfind(kFirstColumns, 0) == 0 && header.size() >= 4;
  result.classes = header_ok ? header.size() - 4 : 0;
  for (std::size_t c = 0; header_ok && c < result.classes; ++c) {
    header_ok = header[4 + c] == "logit_" + std::to_string(c);
  }
  if (!header_ok) throw DataError(path.string() + ": line 1 is not '" + expected_header + "'");
  for (std::size_t number = 2; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const std::vector<std::string> fields = split_commas(line);
    long long index = 0, label = 0, predicted = 0;
    double confidence = 0;
    bool ok = fields.size() == header.size() &&
              parse_whole_number(fields[0], 0, 1LL << 40, index) &&
              static_cast<std::size_t>(index) == result.labels.size() &&
              parse_whole_number(fields[1], 0, 65535, label) &&
              parse_whole_number(fields[2], 0, 65535, predicted) &&
              parse_finite_number(fields[3], confidence);
    for (std::size_t c = 0; ok && c < result.classes; ++c) {
      double logit = 0;
      ok = parse_finite_number(fields[4 + c], logit);
      result.logits.push_back(static_cast<float>(logit));
    }
    if (!ok) {
      throw DataError(path.string() + ": line " + std::to_string(number) + " is not '" +
                      expected_header + "' with index " + std::to_string(result.labels.size()));
    }
    result.labels.push_back(static_cast<std::int32_t>(label));
    result.predicted.push_back(static_cast<std::int32_t>(predicted));
    result.confidence.push_back(static_cast<float>(confidence));
  }
  if (result.labels.empty()) throw DataError(path.string() + ": no predictions");
  return result;
}

}  // namespace cnn::cli
