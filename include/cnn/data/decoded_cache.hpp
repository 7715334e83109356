// The decoded cache of image folders: the decoded images of a class folder set in one file, so
// that a second start reads one file instead of decoding every image again.
//
// The file is <cache dir>/images-<key as 16 hex digits>.bin, where the key (image_folder_cache_key)
// is a 64-bit FNV-1a hash of everything the decoded bytes depend on: kImageFolderLoaderVersion,
// the options that change bytes (channels, height, width, skip_bad_images), the set folder's
// absolute path (links resolved), the class names, the count of ignored files, and for every image
// file in order its relative path, size and modification time in nanoseconds. Touching, adding,
// removing or renaming an image, or changing those options, gives another key, so a stale file is
// never read. FNV-1a because it is a few lines, needs no library and hashes the ~3 MB listing of
// 60,000 files in a few milliseconds; it is not meant to resist crafted collisions (whoever can
// write the image folder can change the data anyway).
//
// Layout, all integers little-endian:
//   "CNNCACHE"                         8 bytes, magic
//   u32 format version                 kDecodedCacheFormatVersion
//   u64 key
//   u32 channels, u32 height, u32 width
//   u64 images, u64 classes, u64 skipped, u64 ignored files
//   classes strings, images strings (relative paths), skipped strings   each u32 length + bytes
//   images·channels·height·width bytes of pixels (as LabelledImages::pixels)
//   images bytes of labels
//   u32 CRC-32 (zlib's) of every byte before it
// A file is trusted only when every part checks out: magic, version, key, checksum, channels 1 or
// 3, sizes non-zero, 1..kMaxClasses classes, labels below the class count, lengths within the
// file and no byte left over.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cnn/data/image_folder.hpp"

namespace cnn {

// Bumped whenever decoding, conversion or resizing changes the bytes an image gives, so that
// caches written by an older loader are not read.
inline constexpr std::uint32_t kImageFolderLoaderVersion = 1;
// Version of the file layout above.
inline constexpr std::uint32_t kDecodedCacheFormatVersion = 1;

// $XDG_CACHE_HOME/cnn when XDG_CACHE_HOME is set and not empty, else $HOME/.cache/cnn, else an
// empty path (no cache).
std::filesystem::path default_cache_dir();

// One image file of a set as listed (before decoding), in the set's order.
struct ListedImageFile {
  std::string relative_path;     // "cat/001.png", relative to the set's folder
  std::uint64_t size = 0;        // bytes
  std::int64_t modified_ns = 0;  // modification time, nanoseconds since the epoch
};

// The key described above. dir is made absolute here; class_names are the final class names
// (the training set's for a test set).
std::uint64_t image_folder_cache_key(const std::filesystem::path& dir,
                                     const ImageFolderOptions& options,
                                     std::span<const std::string> class_names,
                                     std::size_t ignored_files,
                                     std::span<const ListedImageFile> files);

// <cache_dir>/images-<16 lowercase hex digits of key>.bin
std::filesystem::path cache_file_path(const std::filesystem::path& cache_dir, std::uint64_t key);

// The set stored in bytes when they are a valid cache file of this key, else nullopt with the
// reason in *reason ("name: checksum mismatch"). Never throws for any bytes, never trusts them.
std::optional<ImageFolderSet> parse_cache(std::span<const std::uint8_t> bytes,
                                          const std::string& name, std::uint64_t key,
                                          std::string* reason = nullptr);
// parse_cache of the file's bytes. A missing file is nullopt with an empty reason (a plain miss);
// an unreadable one nullopt with the reason. Never throws.
std::optional<ImageFolderSet> read_cache(const std::filesystem::path& path, std::uint64_t key,
                                         std::string* reason = nullptr);

// The cache file's bytes for set (its files, skipped, ignored count and images).
std::vector<std::uint8_t> serialize_cache(std::uint64_t key, const ImageFolderSet& set);
// Writes serialize_cache's bytes to path atomically (temporary file and rename), creating the
// folder. Returns "" on success, else a warning naming the path and the reason; never throws for
// I/O problems.
std::string write_cache(const std::filesystem::path& path, std::uint64_t key,
                        const ImageFolderSet& set);

}  // namespace cnn
