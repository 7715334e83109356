#include "cnn/data/idx.hpp"

// ZLIB_CONST (CMakeLists.txt) makes next_in a pointer to const, so input buffers can stay const.
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <string>

#include "core/whole_file.hpp"

namespace cnn {
namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t kImagesMagic = 0x00000803;  // unsigned bytes, rank 3
constexpr std::uint32_t kLabelsMagic = 0x00000801;  // unsigned bytes, rank 1
constexpr std::size_t kImagesHeader = 16;           // magic + 3 dimensions
constexpr std::size_t kLabelsHeader = 8;            // magic + 1 dimension

// gzip output grows, and gzip writes go, in steps of this size.
constexpr std::size_t kChunk = std::size_t{1} << 20;

[[noreturn]] void fail(const fs::path& path, const std::string& what) {
  throw DataError(path.string() + ": " + what);
}

std::string hex32(std::uint32_t value) {
  std::array<char, 16> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "0x%08X", static_cast<unsigned>(value));
  return buffer.data();
}

std::uint32_t load_be32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 |
         std::uint32_t{p[3]};
}

void store_be32(std::uint8_t* p, std::uint32_t value) {
  p[0] = static_cast<std::uint8_t>(value >> 24);
  p[1] = static_cast<std::uint8_t>(value >> 16);
  p[2] = static_cast<std::uint8_t>(value >> 8);
  p[3] = static_cast<std::uint8_t>(value);
}

bool has_gzip_signature(const std::vector<std::uint8_t>& bytes, std::size_t at = 0) {
  return bytes.size() >= at + 2 && bytes[at] == 0x1f && bytes[at + 1] == 0x8b;
}

// The IDX reader's wording, kept from before the shared reader: a system error in parentheses.
std::vector<std::uint8_t> read_raw(const fs::path& path) {
  return read_whole_file_as<DataError>(
      path, {.folder = "is a folder, expected a file", .errno_in_parentheses = true});
}

// Inflates one or more concatenated gzip members (what `cat a.gz b.gz` or pigz produce).
std::vector<std::uint8_t> gunzip(const fs::path& path, const std::vector<std::uint8_t>& input) {
  z_stream stream{};
  // 15 + 32: largest window, and let zlib parse the gzip header itself.
  if (inflateInit2(&stream, 15 + 32) != Z_OK) throw std::bad_alloc();
  struct End {
    z_stream* s;
    ~End() { inflateEnd(s); }
  } end{&stream};

  // The gzip trailer ends with the uncompressed size modulo 2^32 (little-endian), a good guess
  // for the buffer. A truncated or corrupt file ends with arbitrary bytes, so the guess is only
  // reserved (memory is touched as output arrives) and only within deflate's best ratio, about
  // 1032:1, and 1 GiB.
  std::vector<std::uint8_t> output;
  if (input.size() >= 18) {
    const std::uint8_t* tail = input.data() + input.size() - 4;
    const std::size_t isize = std::size_t{tail[0]} | std::size_t{tail[1]} << 8 |
                              std::size_t{tail[2]} << 16 | std::size_t{tail[3]} << 24;
    if (isize / 1032 <= input.size() && isize <= (std::size_t{1} << 30)) {
      output.reserve(isize + 1);  // + 1: room left over to see the stream end
    }
  }

  stream.next_in = input.data();
  std::size_t in_left = input.size();
  std::size_t used = 0;
  for (;;) {
    if (used == output.size()) {
      // Grow within the reserved capacity while there is some, else by the size so far (at least
      // 64 KiB, at most 16 MiB at a time): a small file costs little memory, a large one few
      // steps. (A fixed 16 MiB first step made every tiny gzip file cost 16 MiB of zeroing.)
      const std::size_t step = used + std::clamp(used, std::size_t{1} << 16, 16 * kChunk);
      output.resize(output.capacity() > used ? std::min(output.capacity(), step) : step);
    }
    // avail_in and avail_out are 32-bit, so hand over at most 1 GiB at a time.
    constexpr std::size_t kMaxStep = std::size_t{1} << 30;
    const auto in_step = static_cast<uInt>(std::min(in_left, kMaxStep));
    const auto out_step = static_cast<uInt>(std::min(output.size() - used, kMaxStep));
    stream.avail_in = in_step;
    stream.next_out = output.data() + used;
    stream.avail_out = out_step;
    const int rc = inflate(&stream, Z_NO_FLUSH);
    in_left -= in_step - stream.avail_in;
    used += out_step - stream.avail_out;

    if (rc == Z_STREAM_END) {
      if (in_left == 0) break;
      if (!has_gzip_signature(input, input.size() - in_left)) {
        fail(path, "corrupt gzip data (" + std::to_string(in_left) +
                       " bytes of garbage after the end of the gzip stream)");
      }
      inflateReset(&stream);  // another member follows
      continue;
    }
    if (rc == Z_MEM_ERROR) throw std::bad_alloc();
    if (rc == Z_NEED_DICT || rc == Z_DATA_ERROR || rc == Z_STREAM_ERROR) {
      fail(path, std::string("corrupt gzip data (") +
                     (stream.msg != nullptr ? stream.msg : "invalid stream") + ")");
    }
    // Z_OK or Z_BUF_ERROR. All input used with output room to spare, yet no stream end: the
    // stream stops short.
    if (in_left == 0 && stream.avail_out > 0) {
      fail(path, "corrupt gzip data (unexpected end of stream; the file is truncated)");
    }
  }
  output.resize(used);
  return output;
}

// Checks the magic number and that the whole header is there.
void check_header(const fs::path& path, const std::vector<std::uint8_t>& bytes, std::uint32_t magic,
                  std::size_t header_size, const char* kind) {
  const std::uint32_t other = magic == kImagesMagic ? kLabelsMagic : kImagesMagic;
  const auto too_short = [&] {
    fail(path, "header too short: " + std::to_string(bytes.size()) + " bytes, an IDX " + kind +
                   " file needs at least " + std::to_string(header_size));
  };
  // The magic number is checked before the full header length: for a short file of the wrong
  // kind, "wrong magic" says more than "too short".
  if (bytes.size() < 4) too_short();
  const std::uint32_t found = load_be32(bytes.data());
  if (found != magic) {
    std::string message = "wrong magic number " + hex32(found) + ", expected " + hex32(magic) +
                          " (IDX " + kind + " of unsigned bytes)";
    if (found == other) {
      message += "; this looks like an IDX ";
      message += magic == kImagesMagic ? "label" : "image";
      message += " file";
    }
    fail(path, message);
  }
  if (bytes.size() < header_size) too_short();
}

// Rejects a payload that does not hold exactly `expected` bytes (nullopt: more than 2^64).
void check_payload(const fs::path& path, std::size_t have, std::optional<std::uint64_t> expected,
                   const std::string& promise) {
  const std::string expected_text =
      expected ? std::to_string(*expected) + " bytes" : "more than 2^64 bytes";
  const std::string detail = "header promises " + promise + " (" + expected_text + "), file has " +
                             std::to_string(have) + " bytes of data";
  if (!expected || have < *expected) fail(path, "truncated: " + detail);
  if (have > *expected) {
    fail(path, "trailing data: " + std::to_string(have - *expected) + " extra bytes; " + detail);
  }
}

std::optional<std::uint64_t> checked_product(std::uint64_t a, std::uint64_t b) {
  std::uint64_t product = 0;
  if (__builtin_mul_overflow(a, b, &product)) return std::nullopt;
  return product;
}

// Writes header then payload, raw or gzip-compressed.
void write_file(const fs::path& path, std::span<const std::uint8_t> header,
                std::span<const std::uint8_t> payload, bool gzip) {
  const auto cannot_write = [&](int err) { fail(path, "cannot write (" + errno_text(err) + ")"); };
  if (gzip) {
    errno = 0;
    gzFile file = gzopen(path.c_str(), "wb");
    if (file == nullptr) cannot_write(errno != 0 ? errno : ENOMEM);
    bool ok = true;
    for (const auto part : {header, payload}) {
      // gzwrite takes an unsigned length, so write in chunks.
      for (std::size_t at = 0; ok && at < part.size(); at += kChunk) {
        const auto n = static_cast<unsigned>(std::min(kChunk, part.size() - at));
        ok = gzwrite(file, part.data() + at, n) == static_cast<int>(n);
      }
    }
    const int err = errno;
    // gzclose flushes the last block, so its result counts too.
    if (gzclose(file) != Z_OK || !ok) cannot_write(err != 0 ? err : EIO);
    return;
  }
  UniqueFile file(std::fopen(path.c_str(), "wb"));
  if (!file) cannot_write(errno);
  for (const auto part : {header, payload}) {
    if (!part.empty() && std::fwrite(part.data(), 1, part.size(), file.get()) != part.size()) {
      cannot_write(errno);
    }
  }
  // fclose flushes the buffer, which is where a full disk shows up.
  if (std::fclose(file.release()) != 0) cannot_write(errno);
}

std::uint32_t dim_u32(const fs::path& path, std::size_t value, const char* name) {
  if (value > std::numeric_limits<std::uint32_t>::max()) {
    throw std::invalid_argument(path.string() + ": " + name + " " + std::to_string(value) +
                                " does not fit the 32-bit IDX header");
  }
  return static_cast<std::uint32_t>(value);
}

}  // namespace

std::vector<std::uint8_t> decode_file_bytes(std::vector<std::uint8_t> bytes,
                                            const std::string& name) {
  if (!has_gzip_signature(bytes)) return bytes;
  return gunzip(name, bytes);
}

std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path) {
  return decode_file_bytes(read_raw(path), path.string());
}

IdxImages read_idx_images(const std::filesystem::path& path) {
  return parse_idx_images(read_raw(path), path.string());
}

std::vector<std::uint8_t> read_idx_labels(const std::filesystem::path& path) {
  return parse_idx_labels(read_raw(path), path.string());
}

IdxImages parse_idx_images(std::vector<std::uint8_t> bytes, const std::string& name) {
  bytes = decode_file_bytes(std::move(bytes), name);
  const fs::path path = name;
  check_header(path, bytes, kImagesMagic, kImagesHeader, "images");
  const std::uint32_t count = load_be32(bytes.data() + 4);
  const std::uint32_t rows = load_be32(bytes.data() + 8);
  const std::uint32_t cols = load_be32(bytes.data() + 12);
  if (count == 0) fail(path, "no images (count is 0)");
  if (rows == 0) fail(path, "images have no rows (rows is 0)");
  if (cols == 0) fail(path, "images have no columns (cols is 0)");

  // Each dimension is up to 2^32 - 1, so the product can pass 2^64: check it before trusting it
  // (and compare with the real data size before allocating anything).
  const auto expected = checked_product(std::uint64_t{count} * rows, cols);
  check_payload(
      path, bytes.size() - kImagesHeader, expected,
      std::to_string(count) + " images of " + std::to_string(rows) + "x" + std::to_string(cols));

  IdxImages images;
  images.count = count;
  images.rows = rows;
  images.cols = cols;
  // Drop the header in place rather than copy tens of megabytes into a new vector.
  bytes.erase(bytes.begin(), bytes.begin() + kImagesHeader);
  images.pixels = std::move(bytes);
  return images;
}

std::vector<std::uint8_t> parse_idx_labels(std::vector<std::uint8_t> bytes,
                                           const std::string& name) {
  bytes = decode_file_bytes(std::move(bytes), name);
  const fs::path path = name;
  check_header(path, bytes, kLabelsMagic, kLabelsHeader, "labels");
  const std::uint32_t count = load_be32(bytes.data() + 4);
  if (count == 0) fail(path, "no labels (count is 0)");
  check_payload(path, bytes.size() - kLabelsHeader, count, std::to_string(count) + " labels");
  bytes.erase(bytes.begin(), bytes.begin() + kLabelsHeader);
  return bytes;
}

void write_idx_images(const std::filesystem::path& path, const IdxImages& images, bool gzip) {
  const std::uint32_t count = dim_u32(path, images.count, "image count");
  const std::uint32_t rows = dim_u32(path, images.rows, "rows");
  const std::uint32_t cols = dim_u32(path, images.cols, "cols");
  const auto expected = checked_product(std::uint64_t{count} * rows, cols);
  if (!expected || *expected != images.pixels.size()) {
    throw std::invalid_argument(path.string() + ": " + std::to_string(count) + " images of " +
                                std::to_string(rows) + "x" + std::to_string(cols) + " but " +
                                std::to_string(images.pixels.size()) + " pixel bytes");
  }
  std::array<std::uint8_t, kImagesHeader> header{};
  store_be32(header.data(), kImagesMagic);
  store_be32(header.data() + 4, count);
  store_be32(header.data() + 8, rows);
  store_be32(header.data() + 12, cols);
  write_file(path, header, images.pixels, gzip);
}

void write_idx_labels(const std::filesystem::path& path, std::span<const std::uint8_t> labels,
                      bool gzip) {
  std::array<std::uint8_t, kLabelsHeader> header{};
  store_be32(header.data(), kLabelsMagic);
  store_be32(header.data() + 4, dim_u32(path, labels.size(), "label count"));
  write_file(path, header, labels, gzip);
}

}  // namespace cnn
