// Writing a file so that a crash, a full disk or a kill at any moment leaves either the old file
// or the complete new one, never a mix: the bytes go to a temporary file in the same folder,
// which is flushed to disk (fsync) and then renamed over the target (rename is atomic within a
// file system); the folder is synced last so that the rename itself survives a power cut.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <vector>

namespace cnn {

// The message names the target file and the reason ("model.safetensors: cannot write: No space
// left on device"). The temporary file is gone and the target untouched when this is thrown.
class FileWriteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Writes the concatenation of parts to path as described above. Throws FileWriteError.
void write_file_atomically(const std::filesystem::path& path,
                           const std::vector<std::span<const std::byte>>& parts);

// The temporary file write_file_atomically uses for path (path + ".tmp-<process id>").
std::filesystem::path temporary_path_for(const std::filesystem::path& path);

}  // namespace cnn
