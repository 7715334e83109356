#include "cnn/data/csv.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
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

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
constexpr long long kMaxValue = 255;  // labels and pixels are both bytes

bool is_blank_char(char c) {
  return c == ' ' || c == '\t';
}

// One line of the text without its line end (LF, or CR LF).
struct Line {
  const char* begin = nullptr;
  const char* end = nullptr;
  std::size_t number = 0;  // 1-based

  bool blank() const {
    return std::all_of(begin, end, [](char c) { return is_blank_char(c) || c == '\r'; });
  }
};

// The lines of a text, one at a time.
class Lines {
 public:
  explicit Lines(std::span<const char> text) : at_(text.data()), end_(text.data() + text.size()) {
    if (std::string_view(at_, text.size()).starts_with(kByteOrderMark)) {
      at_ += kByteOrderMark.size();
    }
  }

  bool next(Line& line) {
    if (at_ == end_) return false;
    const auto* newline = static_cast<const char*>(std::memchr(at_, '\n', end_ - at_));
    const char* line_end = newline != nullptr ? newline : end_;
    line.begin = at_;
    line.end = line_end;
    if (line.end != line.begin && line.end[-1] == '\r') --line.end;
    line.number = ++number_;
    at_ = newline != nullptr ? newline + 1 : end_;
    return true;
  }

  // True when nothing but blank lines is left after the line last returned.
  bool only_blank_left() const {
    return std::all_of(at_, end_,
                       [](char c) { return is_blank_char(c) || c == '\r' || c == '\n'; });
  }

  // How many lines are left at most (for reserving memory).
  std::size_t lines_left() const {
    return static_cast<std::size_t>(std::count(at_, end_, '\n')) + 1;
  }

  std::size_t bytes_left() const { return static_cast<std::size_t>(end_ - at_); }

 private:
  const char* at_;
  const char* end_;
  std::size_t number_ = 0;
};

std::size_t count_fields(const Line& line) {
  return static_cast<std::size_t>(std::count(line.begin, line.end, ',')) + 1;
}

// For a line of one field: a note when it looks separated by something other than commas (as
// spreadsheets write with a semicolon, or tab-separated text), else "".
std::string separator_hint(const Line& line) {
  const std::string_view text(line.begin, static_cast<std::size_t>(line.end - line.begin));
  const char* other = text.find(';') != std::string_view::npos    ? "semicolons"
                      : text.find('\t') != std::string_view::npos ? "tabs"
                                                                  : nullptr;
  if (other == nullptr) return {};
  return std::string(" (fields are separated by commas; this line has none but has ") + other + ")";
}

std::string_view trim(const char* begin, const char* end) {
  while (begin != end && is_blank_char(*begin)) ++begin;
  while (end != begin && is_blank_char(end[-1])) --end;
  return {begin, static_cast<std::size_t>(end - begin)};
}

// An optional minus sign and at least one digit, nothing else (spaces around allowed).
bool is_integer(std::string_view field) {
  if (field.starts_with('-')) field.remove_prefix(1);
  return !field.empty() &&
         std::all_of(field.begin(), field.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A header is a first line with a field that is not an integer (Kaggle's "label,pixel0,...").
bool is_header(const Line& line) {
  const char* field = line.begin;
  for (;;) {
    const auto* comma = static_cast<const char*>(std::memchr(field, ',', line.end - field));
    const char* field_end = comma != nullptr ? comma : line.end;
    if (!is_integer(trim(field, field_end))) return true;
    if (comma == nullptr) return false;
    field = comma + 1;
  }
}

// A field as a message quotes it: at most 24 characters, anything unprintable as \xNN.
std::string quoted(std::string_view field) {
  constexpr std::size_t kMaxShown = 24;
  std::string out = "\"";
  for (std::size_t i = 0; i < field.size() && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(field[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      constexpr const char* kHex = "0123456789ABCDEF";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (field.size() > kMaxShown) out += "...";
  return out + "\"";
}

std::string plural(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string shape_text(std::size_t channels, std::size_t height, std::size_t width) {
  return std::to_string(channels) + "x" + std::to_string(height) + "x" + std::to_string(width);
}

// What a table's rows hold, for reading them and for the messages about them.
struct RowFormat {
  const std::string* name = nullptr;
  bool has_label = false;
  std::size_t values = 0;      // per row, label included
  std::size_t first_line = 0;  // the first image's line, which set `values`
  std::string expected;        // "a label and 784 pixels", for messages

  [[noreturn]] void fail(std::size_t line, const std::string& what) const {
    throw DataError(*name + ": line " + std::to_string(line) + ": " + what);
  }
  [[noreturn]] void fail(std::size_t line, std::size_t column, const std::string& what) const {
    throw DataError(*name + ": line " + std::to_string(line) + ", column " +
                    std::to_string(column) + ": " + what);
  }

  bool is_label(std::size_t column) const { return has_label && column == 1; }

  [[noreturn]] void wrong_count(const Line& line) const {
    const std::size_t have = count_fields(line);
    fail(line.number, plural(have, "value", "values") + ", expected " + std::to_string(values) +
                          " (" + expected + ", as on line " + std::to_string(first_line) + ")");
  }

  // The value at `field` (column `column`) is not a byte: says why.
  [[noreturn]] void bad_value(const Line& line, const char* field, std::size_t column) const {
    const auto* comma = static_cast<const char*>(std::memchr(field, ',', line.end - field));
    const std::string_view text = trim(field, comma != nullptr ? comma : line.end);
    const std::string expectation =
        is_label(column) ? "expected a label: a class number 0..255" : "expected a pixel 0..255";
    if (text.empty()) fail(line.number, column, "empty field; " + expectation);
    if (!is_integer(text)) {
      fail(line.number, column, quoted(text) + " is not an integer; " + expectation);
    }
    fail(line.number, column,
         std::string(is_label(column) ? "label " : "pixel ") + std::string(text.substr(0, 24)) +
             (text.size() > 24 ? "..." : "") + " is out of range; " + expectation);
  }

  // Reads the line's values, the label (when there is one) into *label and the pixels into
  // `pixels` (values - has_label of them).
  void read(const Line& line, std::uint8_t* label, std::uint8_t* pixels) const {
    const char* at = line.begin;
    for (std::size_t column = 1; column <= values; ++column) {
      while (at != line.end && is_blank_char(*at)) ++at;
      const char* field = at;
      long long value = 0;
      const auto [after, error] = std::from_chars(at, line.end, value);
      if (error != std::errc() || value < 0 || value > kMaxValue) bad_value(line, field, column);
      at = after;
      while (at != line.end && is_blank_char(*at)) ++at;
      if (column < values) {
        if (at == line.end) wrong_count(line);  // too few values
        if (*at != ',') bad_value(line, field, column);
        ++at;
      } else if (at != line.end) {
        if (*at == ',') wrong_count(line);  // too many values
        bad_value(line, field, column);
      }
      const auto byte = static_cast<std::uint8_t>(value);
      if (is_label(column)) {
        *label = byte;
      } else {
        *pixels++ = byte;
      }
    }
  }
};

// UTF-16 text (as some spreadsheets save "Unicode text") would fail on its first value with a
// message about NUL bytes; say what it is instead.
void reject_utf16(std::span<const char> text, const std::string& name) {
  const std::string_view start(text.data(), std::min<std::size_t>(text.size(), 2));
  if (start == "\xFF\xFE" || start == "\xFE\xFF") {
    throw DataError(name + ": UTF-16 text (it starts with a UTF-16 byte order mark); expected " +
                    "ASCII or UTF-8 text: save the CSV as UTF-8");
  }
}

// The first image's line, after the header when there is one; throws for an empty file or a
// header alone. `what_rows_hold` completes "expected one image per line (...)".
Line first_image_line(Lines& lines, bool& has_header, const std::string& name,
                      const std::string& what_rows_hold) {
  Line line;
  const bool any = lines.next(line);
  if (!any || (line.blank() && lines.only_blank_left())) {
    throw DataError(name + ": empty file; expected one image per line (" + what_rows_hold +
                    "), after an optional header line");
  }
  has_header = !line.blank() && is_header(line);
  if (has_header) {
    const std::size_t header_line = line.number;
    if (!lines.next(line) || (line.blank() && lines.only_blank_left())) {
      throw DataError(name + ": line " + std::to_string(header_line) +
                      " is a header and no images follow it; expected one image per line (" +
                      what_rows_hold + ") after the header");
    }
  }
  return line;
}

// Reads every row from `first` on (the first included) with `format`, appending the labels
// (when the rows have them) and the pixels.
void read_rows(Lines& lines, Line line, const RowFormat& format, std::vector<std::uint8_t>& labels,
               std::vector<std::uint8_t>& pixels) {
  const std::size_t per_image = format.values - (format.has_label ? 1 : 0);
  // Reserve for every line left, but never more than the text could hold: each pixel takes at
  // least two characters ("0,"), so hostile line counts cannot make this allocate much.
  const std::size_t rows_bound = std::min(lines.lines_left() + 1, lines.bytes_left() / 2 + 2);
  pixels.reserve(std::min(rows_bound * per_image, lines.bytes_left() / 2 + per_image));
  if (format.has_label) labels.reserve(rows_bound);
  std::uint8_t label = 0;
  for (;;) {
    if (line.blank()) {
      if (lines.only_blank_left()) return;
      format.fail(line.number, "blank line; expected an image (" + format.expected +
                                   "); blank lines are allowed only at the end");
    }
    const std::size_t at = pixels.size();
    pixels.resize(at + per_image);
    format.read(line, &label, pixels.data() + at);
    if (format.has_label) labels.push_back(label);
    if (!lines.next(line)) return;
  }
}

// The header, when there is one, must have one field per column.
void check_header(const std::string& name, std::span<const char> text, const RowFormat& format) {
  Lines lines(text);
  Line header;
  lines.next(header);
  const std::size_t fields = count_fields(header);
  if (fields != format.values) {
    throw DataError(name + ": line " + std::to_string(header.number) + ": the header has " +
                    plural(fields, "field", "fields") + " but line " +
                    std::to_string(format.first_line) + " has " +
                    plural(format.values, "value", "values") +
                    "; expected one header field per column");
  }
}

std::size_t integer_sqrt(std::size_t n) {
  auto root = static_cast<std::size_t>(std::sqrt(static_cast<double>(n)));
  while (root * root > n) --root;
  while ((root + 1) * (root + 1) <= n) ++root;
  return root;
}

// The image shape of rows of `pixels` pixels, as CsvShape says, or a DataError at `line`.
Shape resolve_shape(const RowFormat& format, const CsvShape& shape, std::size_t pixels) {
  const std::size_t line = format.first_line;
  const std::string have = plural(pixels, "pixel", "pixels") + " after the label";
  if (shape.height == 0 && shape.width == 0) {
    const std::size_t channels = shape.channels == 0 ? 1 : shape.channels;
    const std::size_t side = integer_sqrt(pixels / channels);
    if (pixels % channels != 0 || side * side * channels != pixels) {
      const std::string times = channels == 1 ? "" : std::to_string(channels) + " times ";
      format.fail(line, have + " is not " + times +
                            "a square number, so not a square image's; expected " + times +
                            "s·s pixels (" + std::to_string(channels * 784) +
                            " for 28x28), or the image size given");
    }
    return Shape{channels, side, side};
  }
  if (shape.height == 0 || shape.width == 0) {
    throw std::invalid_argument("CsvShape: height and width must be given together (or both 0)");
  }
  std::size_t plane = 0;
  const std::string size_text = std::to_string(shape.height) + "x" + std::to_string(shape.width);
  const bool overflow = __builtin_mul_overflow(shape.height, shape.width, &plane);
  if (overflow || plane > pixels || pixels % plane != 0) {
    format.fail(line, have + " is not a whole number of " + size_text +
                          " channels; expected a multiple of " +
                          (overflow ? size_text : std::to_string(plane) + " (" + size_text + ")"));
  }
  const std::size_t channels = pixels / plane;
  const std::string made =
      have + " make " + plural(channels, "channel", "channels") + " of " + size_text;
  if (shape.channels != 0 && channels != shape.channels) {
    format.fail(line, made + "; expected " + std::to_string(shape.channels) + " (" +
                          shape_text(shape.channels, shape.height, shape.width) + " = " +
                          std::to_string(shape.channels * plane) + " pixels)");
  }
  if (shape.channels == 0 && channels != 1 && channels != 3) {
    format.fail(line, made + "; expected 1 (grey, " + std::to_string(plane) +
                          " pixels) or 3 (colour, " + std::to_string(3 * plane) + " pixels)");
  }
  return Shape{channels, shape.height, shape.width};
}

std::span<const char> text_of(const std::vector<std::uint8_t>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

LabelledImages parse_labelled_csv(std::span<const char> text, const std::string& name,
                                  CsvShape shape) {
  reject_utf16(text, name);
  Lines lines(text);
  bool has_header = false;
  const Line first = first_image_line(lines, has_header, name, "a label, then the pixels");

  RowFormat format;
  format.name = &name;
  format.has_label = true;
  format.values = count_fields(first);
  format.first_line = first.number;
  if (first.blank()) {
    format.fail(first.number, "blank line; expected an image (a label, then the pixels)");
  }
  if (format.values < 2) {
    format.fail(first.number,
                "1 value; expected a label, then the pixels of an image" + separator_hint(first));
  }
  if (has_header) check_header(name, text, format);

  LabelledImages images;
  images.image = resolve_shape(format, shape, format.values - 1);
  format.expected = "a label and " + plural(format.values - 1, "pixel", "pixels") + " of a " +
                    shape_text(images.image[0], images.image[1], images.image[2]) + " image";
  read_rows(lines, first, format, images.labels, images.pixels);
  const std::uint8_t largest = *std::max_element(images.labels.begin(), images.labels.end());
  images.class_names = numbered_class_names(std::size_t{largest} + 1);
  return images;
}

CsvPixels parse_pixel_csv(std::span<const char> text, const std::string& name, const Shape& image) {
  if (image.rank() != 3 || image.numel() == 0) {
    throw std::invalid_argument(
        "parse_pixel_csv: the image shape must be [C, H, W] of non-zero "
        "sizes, got " +
        image.to_string());
  }
  const std::size_t per_image = image.numel();
  const std::string image_text = shape_text(image[0], image[1], image[2]);
  reject_utf16(text, name);
  Lines lines(text);
  bool has_header = false;
  const Line first = first_image_line(lines, has_header, name,
                                      "the " + std::to_string(per_image) + " pixels of a " +
                                          image_text + " image, optionally after a label");
  RowFormat format;
  format.name = &name;
  format.values = count_fields(first);
  format.first_line = first.number;
  if (first.blank() || (format.values != per_image && format.values != per_image + 1)) {
    format.fail(
        first.number,
        (first.blank() ? std::string("blank line") : plural(format.values, "value", "values")) +
            "; expected " + std::to_string(per_image) + " (the pixels of a " + image_text +
            " image) or " + std::to_string(per_image + 1) + " (a label, then the pixels)" +
            (format.values == 1 ? separator_hint(first) : std::string()));
  }
  format.has_label = format.values == per_image + 1;
  format.expected = (format.has_label ? "a label and " : std::string()) +
                    std::to_string(per_image) + " pixels of a " + image_text + " image";
  if (has_header) check_header(name, text, format);

  CsvPixels result;
  result.image = image;
  result.first_line = first.number;
  std::vector<std::uint8_t> labels;
  read_rows(lines, first, format, labels, result.pixels);
  if (format.has_label) result.labels = std::move(labels);
  return result;
}

LabelledImages load_labelled_csv(const std::filesystem::path& path, CsvShape shape) {
  const std::vector<std::uint8_t> bytes = read_file_bytes(path);
  return parse_labelled_csv(text_of(bytes), path.string(), shape);
}

CsvPixels load_pixel_csv(const std::filesystem::path& path, const Shape& image) {
  const std::vector<std::uint8_t> bytes = read_file_bytes(path);
  return parse_pixel_csv(text_of(bytes), path.string(), image);
}

void write_csv(const std::filesystem::path& path, const LabelledImages& images, bool header) {
  const Shape& shape = images.image;
  if (shape.rank() != 3 || shape.numel() == 0 ||
      images.pixels.size() != images.labels.size() * shape.numel()) {
    throw std::invalid_argument(path.string() + ": " + std::to_string(images.labels.size()) +
                                " images of " + shape.to_string() + " but " +
                                std::to_string(images.pixels.size()) + " pixel bytes");
  }
  const auto cannot_write = [&](int err) {
    throw DataError(path.string() + ": cannot write (" + errno_text(err) + ")");
  };
  UniqueFile file(std::fopen(path.c_str(), "wb"));
  if (!file) cannot_write(errno);

  std::string buffer;
  constexpr std::size_t kFlushAt = std::size_t{1} << 20;
  const auto flush = [&] {
    if (!buffer.empty() &&
        std::fwrite(buffer.data(), 1, buffer.size(), file.get()) != buffer.size()) {
      cannot_write(errno);
    }
    buffer.clear();
  };
  const std::size_t per_image = shape.numel();
  if (header) {
    buffer += "label";
    for (std::size_t i = 0; i < per_image; ++i) {
      buffer += ",pixel";
      buffer += std::to_string(i);
    }
    buffer += '\n';
  }
  const auto append = [&](std::uint8_t value) {
    char digits[4];
    const auto result = std::to_chars(digits, digits + sizeof digits, unsigned{value});
    buffer.append(digits, result.ptr);
  };
  for (std::size_t i = 0; i < images.labels.size(); ++i) {
    append(images.labels[i]);
    const std::uint8_t* pixel = images.pixels.data() + i * per_image;
    for (std::size_t j = 0; j < per_image; ++j) {
      buffer += ',';
      append(pixel[j]);
    }
    buffer += '\n';
    if (buffer.size() >= kFlushAt) flush();
  }
  flush();
  // fclose flushes the stream's own buffer, which is where a full disk shows up.
  if (std::fclose(file.release()) != 0) cannot_write(errno);
}

}  // namespace cnn
