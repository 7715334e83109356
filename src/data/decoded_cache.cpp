// The decoded cache of image folders (layout and key in include/cnn/data/decoded_cache.hpp).
#include "cnn/data/decoded_cache.hpp"

#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <system_error>

#include "core/atomic_file.hpp"
#include "core/whole_file.hpp"

namespace cnn {

namespace {

constexpr char kMagic[8] = {'C', 'N', 'N', 'C', 'A', 'C', 'H', 'E'};

// FNV-1a, 64 bits. Every field is fed with its length first, so that ("ab", "c") and ("a", "bc")
// hash differently.
class Fnv1a64 {
 public:
  void bytes(const void* data, std::size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) {
      hash_ ^= p[i];
      hash_ *= 0x100000001b3ULL;
    }
  }
  void number(std::uint64_t value) {
    unsigned char le[8];
    for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(value >> (8 * i));
    bytes(le, sizeof le);
  }
  void text(const std::string& s) {
    number(s.size());
    bytes(s.data(), s.size());
  }
  std::uint64_t value() const { return hash_; }

 private:
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

std::uint32_t crc32_of(std::span<const std::uint8_t> bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  std::size_t at = 0;
  while (at < bytes.size()) {
    // zlib takes uInt lengths: feed at most 1 GiB at a time.
    const std::size_t part = std::min<std::size_t>(bytes.size() - at, std::size_t{1} << 30);
    crc = crc32(crc, bytes.data() + at, static_cast<uInt>(part));
    at += part;
  }
  return static_cast<std::uint32_t>(crc);
}

class Writer {
 public:
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void raw(const void* data, std::size_t size) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    out.insert(out.end(), p, p + size);
  }
  void text(const std::string& s) {
    u32(static_cast<std::uint32_t>(s.size()));
    raw(s.data(), s.size());
  }
  std::vector<std::uint8_t> out;
};

// Reads from bytes without ever going past their end: every read says whether it fitted.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  std::size_t left() const { return bytes_.size() - at_; }
  bool u32(std::uint32_t& v) {
    if (left() < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v |= std::uint32_t{bytes_[at_ + i]} << (8 * i);
    at_ += 4;
    return true;
  }
  bool u64(std::uint64_t& v) {
    if (left() < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t{bytes_[at_ + i]} << (8 * i);
    at_ += 8;
    return true;
  }
  bool raw(void* data, std::size_t size) {
    if (left() < size) return false;
    if (size > 0) std::memcpy(data, bytes_.data() + at_, size);
    at_ += size;
    return true;
  }
  bool text(std::string& s) {
    std::uint32_t size = 0;
    if (!u32(size) || left() < size) return false;
    s.assign(reinterpret_cast<const char*>(bytes_.data() + at_), size);
    at_ += size;
    return true;
  }
  // count strings; false when they do not fit (count is checked against the bytes left before
  // anything is reserved, each string taking at least its 4-byte length).
  bool texts(std::uint64_t count, std::vector<std::string>& out) {
    if (count > left() / 4) return false;
    out.resize(static_cast<std::size_t>(count));
    for (auto& s : out) {
      if (!text(s)) return false;
    }
    return true;
  }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t at_ = 0;
};

std::optional<ImageFolderSet> refuse(std::string* reason, const std::string& name,
                                     const std::string& why) {
  if (reason) *reason = name + ": " + why;
  return std::nullopt;
}

}  // namespace

std::filesystem::path default_cache_dir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg && *xdg) return std::filesystem::path(xdg) / "cnn";
  const char* home = std::getenv("HOME");
  if (home && *home) return std::filesystem::path(home) / ".cache" / "cnn";
  return {};
}

std::uint64_t image_folder_cache_key(const std::filesystem::path& dir,
                                     const ImageFolderOptions& options,
                                     std::span<const std::string> class_names,
                                     std::size_t ignored_files,
                                     std::span<const ListedImageFile> files) {
  Fnv1a64 hash;
  hash.number(kImageFolderLoaderVersion);
  hash.number(options.channels);
  hash.number(options.height);
  hash.number(options.width);
  hash.number(options.skip_bad_images ? 1 : 0);
  // The folder as one spelling: absolute, links resolved, no "..", no trailing separator.
  std::error_code ec;
  std::filesystem::path folder = std::filesystem::weakly_canonical(dir, ec);
  if (ec) folder = std::filesystem::absolute(dir, ec).lexically_normal();
  if (!folder.has_filename() && folder.has_parent_path()) folder = folder.parent_path();
  hash.text(folder.string());
  hash.number(class_names.size());
  for (const auto& name : class_names) hash.text(name);
  hash.number(ignored_files);
  hash.number(files.size());
  for (const auto& file : files) {
    hash.text(file.relative_path);
    hash.number(file.size);
    hash.number(static_cast<std::uint64_t>(file.modified_ns));
  }
  return hash.value();
}

std::filesystem::path cache_file_path(const std::filesystem::path& cache_dir, std::uint64_t key) {
  char name[64];
  std::snprintf(name, sizeof name, "images-%016llx.bin", static_cast<unsigned long long>(key));
  return cache_dir / name;
}

std::vector<std::uint8_t> serialize_cache(std::uint64_t key, const ImageFolderSet& set) {
  const LabelledImages& images = set.images;
  Writer w;
  w.out.reserve(images.pixels.size() + images.labels.size() + 4096);
  w.raw(kMagic, sizeof kMagic);
  w.u32(kDecodedCacheFormatVersion);
  w.u64(key);
  for (std::size_t i = 0; i < 3; ++i) {
    w.u32(static_cast<std::uint32_t>(i < images.image.rank() ? images.image[i] : 0));
  }
  w.u64(images.labels.size());
  w.u64(images.class_names.size());
  w.u64(set.skipped.size());
  w.u64(set.ignored_files);
  for (const auto& s : images.class_names) w.text(s);
  for (const auto& s : set.files) w.text(s);
  for (const auto& s : set.skipped) w.text(s);
  w.raw(images.pixels.data(), images.pixels.size());
  w.raw(images.labels.data(), images.labels.size());
  w.u32(crc32_of(w.out));
  return std::move(w.out);
}

std::optional<ImageFolderSet> parse_cache(std::span<const std::uint8_t> bytes,
                                          const std::string& name, std::uint64_t key,
                                          std::string* reason) {
  if (reason) reason->clear();
  constexpr std::size_t kHeader = 8 + 4 + 8 + 3 * 4 + 4 * 8;
  if (bytes.size() < kHeader + 4) return refuse(reason, name, "too short for a cache file");
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    return refuse(reason, name, "not a cache file (no CNNCACHE magic)");
  }
  Reader r(bytes);
  char magic[8];
  std::uint32_t version = 0;
  std::uint64_t stored_key = 0;
  r.raw(magic, sizeof magic);
  r.u32(version);
  if (version != kDecodedCacheFormatVersion) {
    return refuse(reason, name,
                  "cache format version " + std::to_string(version) + ", expected " +
                      std::to_string(kDecodedCacheFormatVersion));
  }
  r.u64(stored_key);
  if (stored_key != key) return refuse(reason, name, "written for another folder listing");
  // The checksum before anything else is believed.
  const auto body = bytes.first(bytes.size() - 4);
  std::uint32_t stored_crc = 0;
  Reader(bytes.last(4)).u32(stored_crc);
  if (crc32_of(body) != stored_crc) return refuse(reason, name, "checksum mismatch");

  Reader in(body);
  in.raw(magic, sizeof magic);
  in.u32(version);
  in.u64(stored_key);
  std::uint32_t channels = 0, height = 0, width = 0;
  std::uint64_t count = 0, classes = 0, skipped = 0, ignored = 0;
  in.u32(channels);
  in.u32(height);
  in.u32(width);
  in.u64(count);
  in.u64(classes);
  in.u64(skipped);
  in.u64(ignored);
  if (channels != 1 && channels != 3) return refuse(reason, name, "channels not 1 or 3");
  if (height == 0 || width == 0) return refuse(reason, name, "image size of zero");
  // Both below 2^32, so their product fits; the bound keeps image_bytes + 1 from overflowing.
  if (std::uint64_t{height} * width > (std::uint64_t{1} << 40)) {
    return refuse(reason, name, "image size too large");
  }
  if (classes == 0 || classes > kMaxClasses) return refuse(reason, name, "bad class count");
  if (count == 0) return refuse(reason, name, "no images");
  if (ignored > std::numeric_limits<std::size_t>::max()) {
    return refuse(reason, name, "bad ignored count");
  }

  ImageFolderSet set;
  LabelledImages& images = set.images;
  if (!in.texts(classes, images.class_names) || !in.texts(count, set.files) ||
      !in.texts(skipped, set.skipped)) {
    return refuse(reason, name, "names run past the end");
  }
  // count ≤ bytes left / 4 (texts checked it), so count·(image bytes + 1) is compared without
  // overflow by dividing.
  const std::uint64_t image_bytes = std::uint64_t{channels} * height * width;
  if (in.left() / (image_bytes + 1) != count || in.left() % (image_bytes + 1) != 0) {
    return refuse(reason, name, "pixel and label bytes do not match the image count");
  }
  images.image = Shape{channels, height, width};
  images.pixels.resize(static_cast<std::size_t>(count * image_bytes));
  images.labels.resize(static_cast<std::size_t>(count));
  in.raw(images.pixels.data(), images.pixels.size());
  in.raw(images.labels.data(), images.labels.size());
  for (const std::uint8_t label : images.labels) {
    if (label >= classes) return refuse(reason, name, "a label beyond the class count");
  }
  set.ignored_files = static_cast<std::size_t>(ignored);
  set.from_cache = true;
  return set;
}

std::optional<ImageFolderSet> read_cache(const std::filesystem::path& path, std::uint64_t key,
                                         std::string* reason) {
  if (reason) reason->clear();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  std::vector<std::uint8_t> bytes;
  try {
    bytes = read_whole_file(path, FileReadMessages{.folder = "is a folder, not a cache file"});
  } catch (const std::exception& e) {
    if (reason) *reason = e.what();
    return std::nullopt;
  }
  return parse_cache(bytes, path.string(), key, reason);
}

std::string write_cache(const std::filesystem::path& path, std::uint64_t key,
                        const ImageFolderSet& set) {
  try {
    std::error_code ec;
    if (path.has_parent_path()) {
      std::filesystem::create_directories(path.parent_path(), ec);
      if (ec) {
        return "cannot create the cache folder " + path.parent_path().string() + ": " +
               ec.message();
      }
    }
    const std::vector<std::uint8_t> bytes = serialize_cache(key, set);
    write_file_atomically(path, {std::as_bytes(std::span(bytes))});
    return {};
  } catch (const std::exception& e) {
    return std::string("cannot write the decoded cache: ") + e.what();
  }
}

}  // namespace cnn
