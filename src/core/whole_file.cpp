#include "core/whole_file.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <system_error>

namespace cnn {

namespace {

namespace fs = std::filesystem;

// Without a size to go by (a pipe, a file that changes), the buffer starts at this and doubles.
constexpr std::size_t kChunk = std::size_t{1} << 20;

class Failure {
 public:
  Failure(const fs::path& path, const FileReadMessages& messages)
      : path_(path), messages_(messages) {}

  [[noreturn]] void operator()(const std::string& problem) const {
    throw FileReadError(path_.string() + ": " + problem);
  }
  [[noreturn]] void cannot_open(int err) const {
    if (messages_.errno_in_parentheses) (*this)("cannot read (" + errno_text(err) + ")");
    (*this)(std::string("cannot open: ") + std::strerror(err));
  }
  [[noreturn]] void cannot_read(int err) const {
    if (messages_.errno_in_parentheses) (*this)("cannot read (" + errno_text(err) + ")");
    (*this)("cannot read the file");
  }
  [[noreturn]] void too_large(const std::string& size) const {
    (*this)(size + " bytes is too large for " + messages_.too_large_for);
  }

 private:
  const fs::path& path_;
  const FileReadMessages& messages_;
};

}  // namespace

std::string errno_text(int err) {
  std::string text = std::generic_category().message(err);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

std::vector<std::uint8_t> read_whole_file(const fs::path& path, const FileReadMessages& messages) {
  const Failure fail(path, messages);
  // fopen would happily open a folder and fail only on the first read, with a vaguer message.
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail(messages.folder);
  const UniqueFile file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    const int err = errno;
    if (err == ENOENT || !fs::exists(path, ec)) fail("no such file");
    fail.cannot_open(err);
  }
  // The size is only a hint (the file may change, or be a pipe), so reading goes on until EOF.
  // One spare byte lets a correct hint reach EOF without growing the buffer.
  const std::uintmax_t size_hint = fs::file_size(path, ec);
  if (!ec && size_hint > messages.max_bytes) fail.too_large(std::to_string(size_hint));
  std::vector<std::uint8_t> bytes(
      ec ? kChunk : std::max(static_cast<std::size_t>(size_hint) + 1, std::size_t{4096}));
  std::size_t used = 0;
  for (;;) {
    if (used == bytes.size()) bytes.resize(2 * bytes.size());
    const std::size_t wanted = bytes.size() - used;
    const std::size_t got = std::fread(bytes.data() + used, 1, wanted, file.get());
    used += got;
    if (used > messages.max_bytes) {
      fail.too_large("more than " + std::to_string(messages.max_bytes));
    }
    if (got < wanted) {  // end of file or an error
      if (std::ferror(file.get())) fail.cannot_read(errno);
      break;
    }
  }
  bytes.resize(used);
  return bytes;
}

}  // namespace cnn
