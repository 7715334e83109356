#include "cnn/io/run_log.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <span>
#include <sstream>
#include <string>

#include "cnn/core/atomic_file.hpp"

namespace cnn {

MetricsWriter::MetricsWriter(const std::filesystem::path& path, bool append) : path_(path) {
  std::error_code ec;
  const bool has_header = append && std::filesystem::file_size(path, ec) > 0 && !ec;
  file_ = std::fopen(path.c_str(), append ? "a" : "w");
  if (file_ == nullptr) {
    throw DataError(path.string() + ": cannot create the metrics log: " + std::strerror(errno));
  }
  if (has_header) return;
  if (std::fprintf(file_, "%s\n", kMetricsHeader) < 0 || std::fflush(file_) != 0) {
    throw DataError(path.string() + ": cannot write the metrics log: " + std::strerror(errno));
  }
}

MetricsWriter::~MetricsWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void MetricsWriter::write(const MetricsRow& row) {
  char accuracy[32] = "";
  if (row.validation_accuracy) {
    std::snprintf(accuracy, sizeof accuracy, "%.6f", *row.validation_accuracy);
  }
  if (std::fprintf(file_, "%zu,%zu,%.6f,%.8g,%s,%.1f,%.3f\n", row.step, row.epoch, row.loss,
                   row.learning_rate, accuracy, row.images_per_second, row.wall_seconds) < 0 ||
      std::fflush(file_) != 0) {
    throw DataError(path_.string() + ": cannot write the metrics log: " + std::strerror(errno));
  }
}

namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t begin = 0;
  while (true) {
    const std::size_t comma = line.find(',', begin);
    fields.push_back(line.substr(begin, comma - begin));
    if (comma == std::string::npos) return fields;
    begin = comma + 1;
  }
}

}  // namespace

std::size_t cut_metrics_after(const std::filesystem::path& path, std::size_t step) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return 0;
  std::ostringstream contents;
  contents << in.rdbuf();
  const std::string text = contents.str();
  std::string kept;
  std::size_t dropped = 0, begin = 0, number = 0;
  while (begin < text.size()) {
    const std::size_t end = text.find('\n', begin);
    // A line without its newline was cut short by the kill: dropped like a line past `step`.
    const bool complete = end != std::string::npos;
    std::string line = text.substr(begin, complete ? end - begin : std::string::npos);
    begin = complete ? end + 1 : text.size();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (++number == 1) {
      if (line != kMetricsHeader) {
        throw DataError(path.string() + ": line 1 is not the metrics header '" +
                        std::string(kMetricsHeader) + "'; not appending to it");
      }
      kept += line + "\n";
      continue;
    }
    if (line.empty()) continue;
    std::size_t line_step = 0;
    const std::size_t comma = std::min(line.find(','), line.size());
    const auto [stop, ec] = std::from_chars(line.data(), line.data() + comma, line_step);
    if (complete && ec == std::errc() && stop == line.data() + comma && split(line).size() == 7 &&
        line_step <= step) {
      kept += line + "\n";
    } else {
      ++dropped;
    }
  }
  if (number == 0) kept = std::string(kMetricsHeader) + "\n";
  try {
    write_file_atomically(path, {std::as_bytes(std::span(kept))});
  } catch (const FileWriteError& e) {
    throw DataError(e.what());
  }
  return dropped;
}

std::vector<MetricsRow> read_metrics(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw DataError(path.string() + ": no metrics log (cannot open the file)");
  std::string line;
  if (!std::getline(in, line)) throw DataError(path.string() + ": empty file, no header line");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line != kMetricsHeader) {
    throw DataError(path.string() + ": line 1 is not the metrics header '" +
                    std::string(kMetricsHeader) + "'");
  }
  std::vector<MetricsRow> rows;
  for (std::size_t number = 2; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::string where = path.string() + ": line " + std::to_string(number);
    const std::vector<std::string> fields = split(line);
    if (fields.size() != 7) {
      throw DataError(where + " has " + std::to_string(fields.size()) + " fields, expected 7");
    }
    const auto integer = [&](const std::string& text, const char* what) {
      std::size_t value = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec != std::errc() || end != text.data() + text.size()) {
        throw DataError(where + ": " + what + " '" + text + "' is not a whole number");
      }
      return value;
    };
    // A diverged run logs a loss of nan or inf; every other field is always finite.
    const auto real = [&](const std::string& text, const char* what, bool finite = true) {
      double value = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec != std::errc() || end != text.data() + text.size() ||
          (finite && !std::isfinite(value))) {
        throw DataError(where + ": " + what + " '" + text + "' is not a finite number");
      }
      return value;
    };
    MetricsRow row;
    row.step = integer(fields[0], "step");
    row.epoch = integer(fields[1], "epoch");
    row.loss = real(fields[2], "loss", false);
    row.learning_rate = real(fields[3], "learning_rate");
    if (!fields[4].empty()) row.validation_accuracy = real(fields[4], "validation_accuracy");
    row.images_per_second = real(fields[5], "images_per_second");
    row.wall_seconds = real(fields[6], "wall_seconds");
    if (!rows.empty() && row.step <= rows.back().step) {
      throw DataError(where + ": step " + std::to_string(row.step) + " does not follow step " +
                      std::to_string(rows.back().step));
    }
    rows.push_back(row);
  }
  return rows;
}

}  // namespace cnn
