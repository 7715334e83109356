// Reading a file whole into memory: the one reader behind model files, checkpoints, images and
// IDX files. Each of them names its problems its own way ("is a folder, not a model file"), so
// the wording that differs is a parameter; the checks and their order are the same for all.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace cnn {

// A C file that closes itself: the readers and the writers of whole files use std::FILE for its
// plain errno reporting.
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using UniqueFile = std::unique_ptr<std::FILE, FileCloser>;

// The message is "<path>: <problem>"; the callers rethrow it as their own error type
// (read_whole_file_as).
class FileReadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct FileReadMessages {
  // After "<path>: " when the path is a folder: "is a folder, not a model file".
  std::string folder;
  // How a failed open or read is told. false: "cannot open: Permission denied" and "cannot read
  // the file"; true: "cannot read (permission denied)" for both, as the IDX reader always has.
  bool errno_in_parentheses = false;
  // Larger files are refused, before they are read when their size is known:
  // "2000000000 bytes is too large for <too_large_for>".
  std::uintmax_t max_bytes = std::numeric_limits<std::uintmax_t>::max();
  std::string too_large_for{};
};

// The file's bytes. Throws FileReadError for a folder, a missing file ("no such file"), a file
// that cannot be opened or read, or one larger than messages.max_bytes.
std::vector<std::uint8_t> read_whole_file(const std::filesystem::path& path,
                                          const FileReadMessages& messages);

// A system error as part of a sentence: "permission denied" (errno's text, first letter lowered).
std::string errno_text(int err);

// read_whole_file with its failures thrown as Error (ModelFileError, ImageError, DataError, ...).
template <class Error>
std::vector<std::uint8_t> read_whole_file_as(const std::filesystem::path& path,
                                             const FileReadMessages& messages) {
  try {
    return read_whole_file(path, messages);
  } catch (const FileReadError& e) {
    throw Error(e.what());
  }
}

}  // namespace cnn
