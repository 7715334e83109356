#include "run_files.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>

#include "cnn/core/numbers.hpp"
#include "cnn/data/idx.hpp"

namespace cnn::serve {

namespace fs = std::filesystem;

namespace {

// The fields of one CSV line (no quoting: the run folder's files have none).
std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  while (true) {
    const std::size_t comma = line.find(',');
    fields.push_back(line.substr(0, comma));
    if (comma == std::string_view::npos) break;
    line.remove_prefix(comma + 1);
  }
  return fields;
}

std::string_view without_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

std::string where(const std::string& name, std::size_t line) {
  return name + ":" + std::to_string(line) + ": ";
}

// A finite decimal number (as strtod reads it, whole field).
std::optional<double> parse_number(std::string_view field) {
  if (field.empty() || field.size() > 64) return std::nullopt;
  double value = 0.0;
  const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
  if (error != std::errc() || end != field.data() + field.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::vector<MetricsRow> parse_metrics_lines(std::string_view text, std::size_t since,
                                            const std::string& name) {
  std::vector<MetricsRow> rows;
  const std::size_t complete = text.rfind('\n');
  if (complete == std::string_view::npos) return rows;  // not even the header is whole yet
  text = text.substr(0, complete + 1);
  std::size_t line_number = 0;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = without_cr(text.substr(0, end));
    text.remove_prefix(end + 1);
    ++line_number;
    if (line_number == 1) {
      if (line != kMetricsHeader) {
        throw DataError(where(name, 1) + "not a metrics log: expected the header '" +
                        kMetricsHeader + "'");
      }
      continue;
    }
    if (line.empty()) continue;
    const std::vector<std::string_view> fields = split_fields(line);
    if (fields.size() != 7) {
      throw DataError(where(name, line_number) + "expected 7 fields, got " +
                      std::to_string(fields.size()));
    }
    MetricsRow row;
    const std::optional<std::size_t> step = parse_integer<std::size_t>(fields[0]),
                                     epoch = parse_integer<std::size_t>(fields[1]);
    const std::optional<double> loss = parse_number(fields[2]), rate = parse_number(fields[3]),
                                speed = parse_number(fields[5]), wall = parse_number(fields[6]);
    const std::optional<double> accuracy =
        fields[4].empty() ? std::optional<double>() : parse_number(fields[4]);
    if (!step || !epoch || !loss || !rate || !speed || !wall || (!fields[4].empty() && !accuracy)) {
      throw DataError(where(name, line_number) + "a field is not a number: '" + std::string(line) +
                      "'");
    }
    row.step = *step;
    row.epoch = *epoch;
    row.loss = *loss;
    row.learning_rate = *rate;
    row.validation_accuracy = accuracy;
    row.images_per_second = *speed;
    row.wall_seconds = *wall;
    if (row.step > since) rows.push_back(row);
  }
  return rows;
}

PredictionsTable parse_predictions(std::string_view text, const std::string& name) {
  PredictionsTable table;
  std::size_t line_number = 0;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = without_cr(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++line_number;
    const std::vector<std::string_view> fields = split_fields(line);
    if (line_number == 1) {
      if (fields.size() < 4 || fields[0] != "index" || fields[1] != "label" ||
          fields[2] != "predicted" || fields[3] != "confidence") {
        throw DataError(where(name, 1) +
                        "not a predictions file: expected the header "
                        "'index,label,predicted,confidence[,logit_0,...]'");
      }
      table.classes = fields.size() - 4;
      if (table.classes > 100000) throw DataError(where(name, 1) + "too many logit columns");
      continue;
    }
    if (line.empty()) continue;
    if (fields.size() != table.classes + 4) {
      throw DataError(where(name, line_number) + "expected " + std::to_string(table.classes + 4) +
                      " fields, got " + std::to_string(fields.size()));
    }
    const std::optional<std::int32_t> label = parse_integer<std::int32_t>(fields[1]),
                                      predicted = parse_integer<std::int32_t>(fields[2]);
    const std::optional<double> confidence = parse_number(fields[3]);
    if (!label || !predicted || !confidence || *label < 0 || *predicted < 0 || *label > 100000 ||
        *predicted > 100000) {
      throw DataError(where(name, line_number) +
                      "expected a class number (0 to 100000) as label and prediction and a "
                      "number as confidence: '" +
                      std::string(line.substr(0, 200)) + "'");
    }
    table.labels.push_back(*label);
    table.predicted.push_back(*predicted);
    table.confidence.push_back(static_cast<float>(*confidence));
    for (std::size_t c = 0; c < table.classes; ++c) {
      const std::optional<double> logit = parse_number(fields[4 + c]);
      if (!logit) {
        throw DataError(where(name, line_number) + "logit_" + std::to_string(c) +
                        " is not a number");
      }
      table.logits.push_back(static_cast<float>(*logit));
    }
  }
  if (line_number == 0) throw DataError(name + ": empty file, expected a predictions header");
  return table;
}

namespace {

// The words of a command line, unquoted as a POSIX shell does for '...' and "..." and \x.
std::vector<std::string> shell_words(std::string_view command) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < command.size(); ++i) {
    const char ch = command[i];
    if (ch == ' ' || ch == '\t' || ch == '\n') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else if (ch == '\'') {
      in_word = true;
      const std::size_t close = command.find('\'', i + 1);
      const std::size_t stop = close == std::string_view::npos ? command.size() : close;
      word.append(command.substr(i + 1, stop - i - 1));
      i = stop;
    } else if (ch == '"') {
      in_word = true;
      for (++i; i < command.size() && command[i] != '"'; ++i) {
        if (command[i] == '\\' && i + 1 < command.size()) ++i;
        word += command[i];
      }
    } else if (ch == '\\' && i + 1 < command.size()) {
      in_word = true;
      word += command[++i];
    } else {
      in_word = true;
      word += ch;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

bool is_flag(const std::string& word) {
  // "-1" or "-.5" are values (a negative number), not flags.
  return word.size() > 1 && word[0] == '-' && !(word[1] >= '0' && word[1] <= '9') && word[1] != '.';
}

}  // namespace

nlohmann::json settings_from_command(std::string_view command) {
  nlohmann::json settings = nlohmann::json::object();
  const std::vector<std::string> words = shell_words(command);
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (!is_flag(words[i])) continue;  // the program, the command, a stray value
    const std::size_t name_start = words[i].find_first_not_of('-');
    if (name_start == std::string::npos) continue;  // "--": the end of the flags
    const std::string name = words[i].substr(name_start);
    const std::size_t equals = name.find('=');
    // Run ids and command lines are text a user typed: only valid UTF-8 goes into JSON (dump()
    // would throw on anything else), so other bytes become '?'.
    auto clean = [](std::string text) {
      for (char& ch : text) {
        if (static_cast<unsigned char>(ch) >= 0x80) ch = '?';
      }
      return text;
    };
    if (equals != std::string::npos) {
      settings[clean(name.substr(0, equals))] = clean(name.substr(equals + 1));
    } else if (i + 1 < words.size() && !is_flag(words[i + 1])) {
      settings[clean(name)] = clean(words[i + 1]);
      ++i;
    } else {
      settings[clean(name)] = true;
    }
  }
  return settings;
}

std::string this_host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

namespace {

// Seconds since the file was last written; nullopt when it does not exist.
std::optional<double> age_seconds(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return std::nullopt;
  return std::difftime(std::time(nullptr), info.st_mtime);
}

}  // namespace

std::string run_status(const fs::path& run, const nlohmann::json& record, double stale_seconds) {
  if (!record.is_object()) return "unknown";
  const auto status = record.find("status");
  if (status == record.end() || !status->is_string()) return "unknown";
  const std::string text = status->get<std::string>();
  if (text != "running") {
    static const char* const kKnown[] = {"finished", "interrupted", "diverged", "failed"};
    for (const char* known : kKnown) {
      if (text == known) return text;
    }
    return "unknown";
  }
  const auto host = record.find("host");
  const bool same_host =
      host == record.end() || !host->is_string() || host->get<std::string>() == this_host_name();
  if (same_host) {
    // O_RDONLY: reading never changes the run folder; flock works on any descriptor.
    const int fd = ::open((run / "run.lock").c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd >= 0) {
      const bool free = ::flock(fd, LOCK_SH | LOCK_NB) == 0;
      const int error = errno;
      ::close(fd);  // releases the shared lock at once, if taken
      if (free) return "died";
      if (error == EWOULDBLOCK) return "running";
      // Another error (a file system without flock): judge by the files' age below.
    }
  }
  std::optional<double> age = age_seconds(run / "metrics.csv");
  if (!age) age = age_seconds(run / "run.json");
  if (age && *age > stale_seconds) return "died";
  return "running";
}

std::optional<std::string> read_file_text(const fs::path& path, std::size_t limit) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return std::nullopt;
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return std::nullopt;
  }
  std::string text;
  char buffer[65536];
  while (true) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    text.append(buffer, static_cast<std::size_t>(got));
    if (text.size() > limit) {
      ::close(fd);
      throw std::runtime_error(path.string() + ": larger than " + std::to_string(limit) +
                               " bytes, too large to serve");
    }
  }
  ::close(fd);
  return text;
}

}  // namespace cnn::serve
