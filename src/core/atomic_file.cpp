#include "cnn/core/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace cnn {

namespace {

void write_all(int fd, std::span<const std::byte> bytes, const std::string& target) {
  const std::byte* p = bytes.data();
  std::size_t size = bytes.size();
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw FileWriteError(target + ": cannot write: " + std::strerror(errno));
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace

std::filesystem::path temporary_path_for(const std::filesystem::path& path) {
  std::filesystem::path temp = path;
  temp += ".tmp-" + std::to_string(::getpid());
  return temp;
}

void write_file_atomically(const std::filesystem::path& path,
                           const std::vector<std::span<const std::byte>>& parts) {
  const std::string target = path.string();
  const std::filesystem::path temp = temporary_path_for(path);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw FileWriteError(target + ": cannot create " + temp.string() + ": " + std::strerror(errno));
  }
  try {
    for (const auto part : parts) write_all(fd, part, target);
    // A full disk may show up only here, when the file system allocates the blocks.
    if (::fsync(fd) != 0) {
      throw FileWriteError(target + ": cannot flush: " + std::strerror(errno));
    }
  } catch (...) {
    ::close(fd);
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    throw;
  }
  if (::close(fd) != 0 || std::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    throw FileWriteError(target + ": cannot write: " + reason);
  }
  // Make the rename itself durable; the file is complete either way, so failures are ignored.
  std::filesystem::path folder = path.parent_path();
  if (folder.empty()) folder = ".";
  const int dir_fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

}  // namespace cnn
