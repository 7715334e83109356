// The decoded cache of image folders (layout and key in include/cnn/data/decoded_cache.hpp).
#include "cnn/data/decoded_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <system_error>

#include "cnn/core/atomic_file.hpp"
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

namespace {

// Where parse reads from: bytes in memory (parse_cache, the fuzz target) or an open file
// (read_cache, which reads the pixels straight into the result instead of holding the file
// twice). Every read is checked against the input's size and added to the running CRC-32.
class SpanSource {
 public:
  explicit SpanSource(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  std::uint64_t size() const { return bytes_.size(); }
  bool read(void* out, std::size_t count) {
    if (bytes_.size() - at_ < count) return false;
    if (count > 0) std::memcpy(out, bytes_.data() + at_, count);
    crc_ = crc32_z(crc_, bytes_.data() + at_, count);
    at_ += count;
    return true;
  }
  std::uint32_t crc() const { return static_cast<std::uint32_t>(crc_); }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t at_ = 0;
  uLong crc_ = crc32(0L, Z_NULL, 0);
};

class FileSource {
 public:
  FileSource(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
  std::uint64_t size() const { return size_; }
  // False for a file shorter than its size said, or a read error (errno_ says which).
  bool read(void* out, std::size_t count) {
    auto* p = static_cast<std::uint8_t*>(out);
    std::size_t done = 0;
    while (done < count) {
      const ssize_t got = ::read(fd_, p + done, count - done);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        error_ = got < 0 ? errno : 0;
        return false;
      }
      done += static_cast<std::size_t>(got);
    }
    crc_ = crc32_z(crc_, p, count);
    return true;
  }
  std::uint32_t crc() const { return static_cast<std::uint32_t>(crc_); }
  int error() const { return error_; }

 private:
  int fd_;
  std::uint64_t size_;
  uLong crc_ = crc32(0L, Z_NULL, 0);
  int error_ = 0;
};

template <class Source>
bool read_u32(Source& in, std::uint32_t& v) {
  std::uint8_t b[4];
  if (!in.read(b, 4)) return false;
  v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t{b[i]} << (8 * i);
  return true;
}

template <class Source>
bool read_u64(Source& in, std::uint64_t& v) {
  std::uint8_t b[8];
  if (!in.read(b, 8)) return false;
  v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{b[i]} << (8 * i);
  return true;
}

// Magic, version and key, then counts, which fix the size of every part: the names take what the
// pixels, labels and checksum leave, and must use exactly that. Nothing is believed before the
// checksum at the end matches what was read.
template <class Source>
std::optional<ImageFolderSet> parse(Source& in, const std::string& name, std::uint64_t key,
                                    std::string* reason) {
  constexpr std::size_t kHeader = 8 + 4 + 8 + 3 * 4 + 4 * 8;
  const std::uint64_t total = in.size();
  const char* truncated = "truncated";
  if (total < kHeader + 4) return refuse(reason, name, "too short for a cache file");
  char magic[8];
  if (!in.read(magic, sizeof magic)) return refuse(reason, name, truncated);
  if (std::memcmp(magic, kMagic, sizeof kMagic) != 0) {
    return refuse(reason, name, "not a cache file (no CNNCACHE magic)");
  }
  std::uint32_t version = 0;
  if (!read_u32(in, version)) return refuse(reason, name, truncated);
  if (version != kDecodedCacheFormatVersion) {
    return refuse(reason, name,
                  "cache format version " + std::to_string(version) + ", expected " +
                      std::to_string(kDecodedCacheFormatVersion));
  }
  std::uint64_t stored_key = 0;
  if (!read_u64(in, stored_key)) return refuse(reason, name, truncated);
  if (stored_key != key) return refuse(reason, name, "written for another folder listing");

  std::uint32_t channels = 0, height = 0, width = 0;
  std::uint64_t count = 0, classes = 0, skipped = 0, ignored = 0;
  if (!read_u32(in, channels) || !read_u32(in, height) || !read_u32(in, width) ||
      !read_u64(in, count) || !read_u64(in, classes) || !read_u64(in, skipped) ||
      !read_u64(in, ignored)) {
    return refuse(reason, name, truncated);
  }
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
  // The pixels, labels and checksum take count·(image bytes + 1) + 4 of what follows the header,
  // compared by dividing so that nothing overflows.
  const std::uint64_t image_bytes = std::uint64_t{channels} * height * width;
  const std::uint64_t after_header = total - kHeader - 4;
  if (after_header / (image_bytes + 1) < count) {
    return refuse(reason, name, "too short for its image count (truncated?)");
  }
  const std::uint64_t names_size = after_header - count * (image_bytes + 1);
  if (names_size > std::numeric_limits<std::size_t>::max()) {
    return refuse(reason, name, "names too large");
  }

  ImageFolderSet set;
  LabelledImages& images = set.images;
  {
    std::vector<std::uint8_t> names(static_cast<std::size_t>(names_size));
    if (!in.read(names.data(), names.size())) return refuse(reason, name, truncated);
    Reader names_in(names);
    if (!names_in.texts(classes, images.class_names) || !names_in.texts(count, set.files) ||
        !names_in.texts(skipped, set.skipped) || names_in.left() != 0) {
      return refuse(reason, name, "names do not fit their place (pixels or names damaged)");
    }
  }
  images.image = Shape{channels, height, width};
  images.pixels.resize(static_cast<std::size_t>(count * image_bytes));
  images.labels.resize(static_cast<std::size_t>(count));
  if (!in.read(images.pixels.data(), images.pixels.size()) ||
      !in.read(images.labels.data(), images.labels.size())) {
    return refuse(reason, name, truncated);
  }
  const std::uint32_t computed = in.crc();
  std::uint32_t stored_crc = 0;
  if (!read_u32(in, stored_crc)) return refuse(reason, name, truncated);
  if (computed != stored_crc) return refuse(reason, name, "checksum mismatch");
  for (const std::uint8_t label : images.labels) {
    if (label >= classes) return refuse(reason, name, "a label beyond the class count");
  }
  set.ignored_files = static_cast<std::size_t>(ignored);
  set.from_cache = true;
  return set;
}

}  // namespace

std::optional<ImageFolderSet> parse_cache(std::span<const std::uint8_t> bytes,
                                          const std::string& name, std::uint64_t key,
                                          std::string* reason) {
  if (reason) reason->clear();
  SpanSource in(bytes);
  return parse(in, name, key, reason);
}

std::optional<ImageFolderSet> read_cache(const std::filesystem::path& path, std::uint64_t key,
                                         std::string* reason) {
  if (reason) reason->clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;  // a plain miss
    return refuse(reason, path.string(), "cannot open: " + errno_text(errno));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    return refuse(reason, path.string(), "not a regular file");
  }
  FileSource in(fd, static_cast<std::uint64_t>(info.st_size));
  auto set = parse(in, path.string(), key, reason);
  if (!set && in.error() != 0 && reason) {
    *reason = path.string() + ": cannot read: " + errno_text(in.error());
  }
  return set;
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
