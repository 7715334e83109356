#include "cnn/data/cifar.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "core/whole_file.hpp"

namespace cnn {
namespace {

namespace fs = std::filesystem;

constexpr const char* kRecordLayout =
    "expected 3073-byte records: 1 label byte and 3072 pixel bytes";
constexpr const char* kFolderContents =
    "a CIFAR-10 folder (the binary version, cifar-10-batches-bin) holds data_batch_1.bin ... "
    "data_batch_5.bin, test_batch.bin and batches.meta.txt";

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw DataError(name + ": " + what);
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

// Length of the valid UTF-8 sequence at the start of `text`, 0 when there is none (overlong
// forms, surrogates and code points above U+10FFFF are invalid, as JSON writers require).
std::size_t utf8_sequence(std::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (text.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

// Why a class name cannot be used, or "" when it can.
std::string name_problem(std::string_view name) {
  for (std::size_t i = 0; i < name.size();) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7F) return "holds a control character (byte " + std::to_string(c) + ")";
    const std::size_t length = utf8_sequence(name.substr(i));
    if (length == 0) return "is not UTF-8 text";
    i += length;
  }
  return {};
}

void write_bytes(const fs::path& path, std::span<const std::uint8_t> bytes) {
  const auto cannot_write = [&](int err) {
    throw DataError(path.string() + ": cannot write (" + errno_text(err) + ")");
  };
  UniqueFile file(std::fopen(path.c_str(), "wb"));
  if (!file) cannot_write(errno);
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file.get()) != bytes.size()) {
    cannot_write(errno);
  }
  // fclose flushes the buffer, which is where a full disk shows up.
  if (std::fclose(file.release()) != 0) cannot_write(errno);
}

// Reads a file that must be there; a missing one is named with what the folder should hold.
std::vector<std::uint8_t> read_folder_file(const fs::path& path) {
  std::error_code error;
  if (!fs::exists(path, error) && !error) {
    fail(path.string(), std::string("no such file; ") + kFolderContents);
  }
  return read_file_bytes(path);
}

void append(LabelledImages& to, const LabelledImages& from) {
  to.pixels.insert(to.pixels.end(), from.pixels.begin(), from.pixels.end());
  to.labels.insert(to.labels.end(), from.labels.begin(), from.labels.end());
}

}  // namespace

LabelledImages parse_cifar_batch(std::span<const std::uint8_t> bytes, const std::string& name) {
  if (bytes.empty()) fail(name, std::string("empty file; ") + kRecordLayout);
  const std::size_t records = bytes.size() / kCifarRecordBytes;
  const std::size_t left = bytes.size() % kCifarRecordBytes;
  if (left != 0) {
    std::string message = std::to_string(bytes.size()) +
                          " bytes is not a whole number of records: record " +
                          std::to_string(records + 1) + " is cut after " + std::to_string(left) +
                          (left == 1 ? " byte; " : " bytes; ") + kRecordLayout;
    // CIFAR-100's records have two label bytes (coarse and fine).
    if (bytes.size() % (kCifarRecordBytes + 1) == 0) {
      message += " (3074-byte records are CIFAR-100's, which this reader does not take)";
    }
    fail(name, message);
  }

  LabelledImages images;
  images.image = Shape{3, kCifarSide, kCifarSide};
  images.labels.resize(records);
  images.pixels.resize(records * kCifarImageBytes);
  for (std::size_t r = 0; r < records; ++r) {
    const std::uint8_t* record = bytes.data() + r * kCifarRecordBytes;
    if (record[0] >= kCifarClasses) {
      fail(name, "record " + std::to_string(r + 1) + " (byte offset " +
                     std::to_string(r * kCifarRecordBytes) + "): label " +
                     std::to_string(record[0]) + " is not a CIFAR-10 class; expected 0..9");
    }
    images.labels[r] = record[0];
    std::memcpy(images.pixels.data() + r * kCifarImageBytes, record + 1, kCifarImageBytes);
  }
  images.class_names = numbered_class_names(kCifarClasses);
  return images;
}

std::vector<std::string> parse_cifar_names(std::span<const char> text, const std::string& name) {
  std::string_view rest(text.data(), text.size());
  if (rest.starts_with("\xEF\xBB\xBF")) rest.remove_prefix(3);  // a UTF-8 byte order mark
  std::vector<std::string> names;
  std::vector<std::size_t> lines;  // the line of each name
  std::size_t extra = 0;           // names after the tenth
  for (std::size_t line = 1; !rest.empty(); ++line) {
    const std::size_t newline = rest.find('\n');
    std::string_view field = rest.substr(0, newline);
    rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);
    while (!field.empty() && is_space(field.front())) field.remove_prefix(1);
    while (!field.empty() && is_space(field.back())) field.remove_suffix(1);
    if (field.empty()) continue;
    // Names past the tenth make an error below: count them without checking or keeping them, so
    // that a huge file costs no quadratic search for repeats.
    if (names.size() == kCifarClasses) {
      ++extra;
      continue;
    }
    const std::string problem = name_problem(field);
    if (!problem.empty()) {
      fail(name, "line " + std::to_string(line) + ": the class name " + problem +
                     "; expected one class name per line");
    }
    const auto same = std::find(names.begin(), names.end(), field);
    if (same != names.end()) {
      fail(name, "line " + std::to_string(line) + ": the class name \"" + std::string(field) +
                     "\" is also on line " + std::to_string(lines[same - names.begin()]) +
                     "; expected 10 different names");
    }
    names.emplace_back(field);
    lines.push_back(line);
  }
  const std::size_t found = names.size() + extra;
  if (found != kCifarClasses) {
    fail(name, std::to_string(found) + (found == 1 ? " class name" : " class names") +
                   "; expected 10, one per line (the names of labels 0..9)");
  }
  return names;
}

LabelledImages load_cifar_batch(const std::filesystem::path& path) {
  return parse_cifar_batch(read_file_bytes(path), path.string());
}

bool is_cifar10_folder(const std::filesystem::path& dir) {
  std::error_code error;
  return fs::is_regular_file(dir / "data_batch_1.bin", error);
}

CifarSplits load_cifar10(const std::filesystem::path& dir) {
  CifarSplits splits;
  for (int batch = 1; batch <= 5; ++batch) {
    const fs::path path = dir / ("data_batch_" + std::to_string(batch) + ".bin");
    LabelledImages part = parse_cifar_batch(read_folder_file(path), path.string());
    if (batch == 1) {
      splits.train = std::move(part);
      // The five batches are usually the same size: reserve for all of them.
      splits.train.pixels.reserve(5 * splits.train.pixels.size());
      splits.train.labels.reserve(5 * splits.train.labels.size());
    } else {
      append(splits.train, part);
    }
  }
  const fs::path test = dir / "test_batch.bin";
  splits.test = parse_cifar_batch(read_folder_file(test), test.string());

  const fs::path meta = dir / "batches.meta.txt";
  std::error_code error;
  if (fs::exists(meta, error)) {
    const std::vector<std::uint8_t> bytes = read_file_bytes(meta);
    const std::vector<std::string> names = parse_cifar_names(
        {reinterpret_cast<const char*>(bytes.data()), bytes.size()}, meta.string());
    splits.train.class_names = names;
    splits.test.class_names = names;
    splits.names_from_meta = true;
  }
  return splits;
}

void write_cifar_batch(const std::filesystem::path& path, const LabelledImages& images) {
  if (!(images.image == Shape{3, kCifarSide, kCifarSide}) ||
      images.pixels.size() != images.labels.size() * kCifarImageBytes) {
    throw std::invalid_argument(path.string() +
                                ": a CIFAR-10 batch holds images of [3, 32, 32], "
                                "got " +
                                std::to_string(images.labels.size()) + " images of " +
                                images.image.to_string() + " in " +
                                std::to_string(images.pixels.size()) + " pixel bytes");
  }
  std::vector<std::uint8_t> bytes(images.labels.size() * kCifarRecordBytes);
  for (std::size_t r = 0; r < images.labels.size(); ++r) {
    if (images.labels[r] >= kCifarClasses) {
      throw std::invalid_argument(path.string() + ": label " + std::to_string(images.labels[r]) +
                                  " of image " + std::to_string(r) +
                                  " is not a CIFAR-10 class (0..9)");
    }
    std::uint8_t* record = bytes.data() + r * kCifarRecordBytes;
    record[0] = images.labels[r];
    std::memcpy(record + 1, images.pixels.data() + r * kCifarImageBytes, kCifarImageBytes);
  }
  write_bytes(path, bytes);
}

void write_cifar_names(const std::filesystem::path& path, const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += name + "\n";
  write_bytes(path, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

}  // namespace cnn
