// Class folder sets of images (include/cnn/data/image_folder.hpp) and their decoded cache.
#include "cnn/data/image_folder.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <system_error>
#include <utility>

#include "cnn/core/parallel.hpp"
#include "cnn/data/decoded_cache.hpp"
#include "cnn/data/image.hpp"
#include "core/whole_file.hpp"

namespace cnn {

namespace fs = std::filesystem;

namespace {

// Files decoded per parallel_for: progress is reported between chunks, and at most this many
// decoded images exist besides the result.
constexpr std::size_t kDecodeChunk = 512;

constexpr const char* kImageKinds = "(.png, .jpg, .jpeg, .pgm, .ppm)";

bool is_hidden(const std::string& name) {
  return !name.empty() && name[0] == '.';
}

bool has_image_extension(const std::string& name) {
  const auto dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  std::string extension = name.substr(dot + 1);
  for (char& c : extension) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return extension == "png" || extension == "jpg" || extension == "jpeg" || extension == "pgm" ||
         extension == "ppm";
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

std::string size_text(std::size_t height, std::size_t width) {
  return std::to_string(height) + "x" + std::to_string(width);
}

// The names in folder (not "." and ".."), each with whether it is a folder (links followed).
struct Entry {
  std::string name;
  bool is_folder = false;
};

std::vector<Entry> list_folder(const fs::path& folder) {
  std::vector<Entry> entries;
  std::error_code ec;
  fs::directory_iterator it(folder, ec);
  const fs::directory_iterator end;
  while (!ec && it != end) {
    std::error_code type_ec;
    entries.push_back({it->path().filename().string(), it->is_directory(type_ec)});
    it.increment(ec);
  }
  if (ec) throw DataError(folder.string() + ": cannot list the folder: " + ec.message());
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return entries;
}

// Fills in the size and modification time of files (relative to dir), on the library's threads:
// the key of the decoded cache needs them for every file at every start. Each is looked up from
// an open descriptor of dir, so only its last two path components are resolved. A file that
// cannot be stat'ed (a broken link) keeps zeros and stays listed: reading it reports why.
void stat_files(const fs::path& dir, std::vector<ListedImageFile>& files) {
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  parallel_for(
      files.size(),
      [&](std::size_t, std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) {
          ListedImageFile& file = files[i];
          struct stat info {};
          const int failed = dir_fd >= 0 ? ::fstatat(dir_fd, file.relative_path.c_str(), &info, 0)
                                         : ::stat((dir / file.relative_path).c_str(), &info);
          if (failed != 0) continue;
          file.size = static_cast<std::uint64_t>(info.st_size);
          file.modified_ns =
              static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec;
        }
      },
      1024);
  if (dir_fd >= 0) ::close(dir_fd);
}

// What a set's folder holds, before any image is read.
struct Listing {
  std::vector<std::string> class_names;  // the labels' names (expected_classes when given)
  std::vector<ListedImageFile> files;    // in the set's order
  std::vector<std::uint8_t> labels;      // one per file
  std::size_t ignored = 0;
};

Listing list_set(const fs::path& dir, const std::vector<std::string>* expected_classes) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) throw DataError(dir.string() + ": no such folder");
  if (!fs::is_directory(dir, ec)) throw DataError(dir.string() + ": not a folder");

  Listing listing;
  std::vector<std::string> class_folders;
  for (const Entry& entry : list_folder(dir)) {
    if (is_hidden(entry.name)) continue;
    if (entry.is_folder) {
      class_folders.push_back(entry.name);
    } else {
      ++listing.ignored;
    }
  }
  if (class_folders.empty()) {
    throw DataError(dir.string() + ": no class folders (expected " + dir.string() +
                    "/<class>/<images> " + kImageKinds + ")");
  }
  if (expected_classes) {
    listing.class_names = *expected_classes;
  } else {
    if (class_folders.size() > kMaxClasses) {
      throw DataError(dir.string() + ": " + std::to_string(class_folders.size()) +
                      " class folders, at most " + std::to_string(kMaxClasses) + " are supported");
    }
    listing.class_names = class_folders;
  }

  for (std::size_t index = 0; index < class_folders.size(); ++index) {
    const std::string& class_name = class_folders[index];
    const fs::path class_dir = dir / class_name;
    std::size_t label = index;
    if (expected_classes) {
      const auto found = std::find(expected_classes->begin(), expected_classes->end(), class_name);
      if (found == expected_classes->end()) {
        throw DataError(class_dir.string() + ": class '" + class_name +
                        "' is not among the training classes (" + joined(*expected_classes) + ")");
      }
      label = static_cast<std::size_t>(found - expected_classes->begin());
    }
    std::size_t images = 0;
    for (const Entry& entry : list_folder(class_dir)) {
      if (is_hidden(entry.name)) continue;
      // Nested folders are not classes of their own, nor part of this one: ignored.
      if (entry.is_folder || !has_image_extension(entry.name)) {
        ++listing.ignored;
        continue;
      }
      ListedImageFile file;
      file.relative_path = class_name + "/" + entry.name;
      listing.files.push_back(std::move(file));
      listing.labels.push_back(static_cast<std::uint8_t>(label));
      ++images;
    }
    if (images == 0) throw DataError(class_dir.string() + ": no images " + kImageKinds);
  }
  stat_files(dir, listing.files);
  return listing;
}

// A decoded image of a chunk, or why it could not be.
struct Decoded {
  Image image;
  std::string error;
  bool image_error = false;  // the file's fault (skip_bad_images may skip it)
};

// Makes the 1-channel images stored so far 3-channel, in place: image i moves from i·plane to
// 3·i·plane, last image first, so that no image is overwritten before it has moved.
void widen_to_colour(std::vector<std::uint8_t>& pixels, std::size_t count, std::size_t plane) {
  pixels.resize(count * 3 * plane);
  for (std::size_t i = count; i-- > 0;) {
    std::uint8_t* from = pixels.data() + i * plane;
    std::uint8_t* to = pixels.data() + i * 3 * plane;
    std::memmove(to + 2 * plane, from, plane);
    std::memmove(to + plane, from, plane);
    std::memmove(to, from, plane);
  }
}

ImageFolderSet decode_set(const fs::path& dir, const Listing& listing,
                          const ImageFolderOptions& options) {
  ImageFolderSet set;
  set.ignored_files = listing.ignored;
  LabelledImages& images = set.images;
  images.class_names = listing.class_names;

  const bool resizing = options.height != 0;
  std::size_t height = options.height, width = options.width;
  std::string size_source;  // the file that set the size when not resizing
  // Channels of the stored images: the forced count, or 1 until a colour image turns up.
  std::size_t stored_channels = options.channels == 0 ? 1 : options.channels;
  std::size_t count = 0;

  const std::size_t total = listing.files.size();
  std::vector<Decoded> chunk;
  for (std::size_t begin = 0; begin < total; begin += kDecodeChunk) {
    const std::size_t n = std::min(kDecodeChunk, total - begin);
    chunk.assign(n, Decoded{});
    parallel_for(n, [&](std::size_t, std::size_t first, std::size_t last) {
      for (std::size_t i = first; i < last; ++i) {
        Decoded& out = chunk[i];
        const fs::path path = dir / listing.files[begin + i].relative_path;
        try {
          const std::vector<std::uint8_t> bytes =
              read_whole_file_as<ImageError>(path, {.folder = "is a folder, not an image"});
          Image image = decode_image_natural(bytes, path.string());
          if (resizing && (image.height != height || image.width != width)) {
            image = resize_image(image, height, width);
          }
          if (options.channels != 0 && image.channels != options.channels) {
            image = convert_channels(image, options.channels);
          }
          out.image = std::move(image);
        } catch (const ImageError& e) {
          out.error = e.what();
          out.image_error = true;
        } catch (const std::exception& e) {
          out.error = path.string() + ": " + e.what();
        }
      }
    });

    // In the set's order, on this thread: the checks whose message must not depend on timing.
    for (std::size_t i = 0; i < n; ++i) {
      Decoded& decoded = chunk[i];
      const std::string& relative = listing.files[begin + i].relative_path;
      if (!decoded.error.empty()) {
        if (decoded.image_error && options.skip_bad_images) {
          set.skipped.push_back(std::move(decoded.error));
          continue;
        }
        throw DataError(decoded.error);
      }
      Image& image = decoded.image;
      if (height == 0) {
        height = image.height;
        width = image.width;
        size_source = (dir / relative).string();
      } else if (image.height != height || image.width != width) {
        throw DataError((dir / relative).string() + ": the image is " +
                        size_text(image.height, image.width) + " (height x width), expected " +
                        size_text(height, width) + " as " + size_source +
                        "; give --image-size HxW to resize every image to one size");
      }
      const std::size_t plane = height * width;
      if (image.channels == 3 && stored_channels == 1) {
        widen_to_colour(images.pixels, count, plane);
        stored_channels = 3;
      }
      if (image.channels == stored_channels) {
        images.pixels.insert(images.pixels.end(), image.pixels.begin(), image.pixels.end());
      } else {  // a grey image in a set that is colour
        for (std::size_t c = 0; c < 3; ++c) {
          images.pixels.insert(images.pixels.end(), image.pixels.begin(),
                               image.pixels.begin() + static_cast<std::ptrdiff_t>(plane));
        }
      }
      images.labels.push_back(listing.labels[begin + i]);
      set.files.push_back(relative);
      ++count;
      image = Image{};
    }
    if (options.progress) options.progress(begin + n, total);
  }
  if (count == 0) {
    throw DataError(dir.string() + ": no images left after skipping " +
                    std::to_string(set.skipped.size()) + " that could not be read");
  }
  images.image = Shape{stored_channels, height, width};
  return set;
}

void check_options(const ImageFolderOptions& options) {
  if (options.channels != 0 && options.channels != 1 && options.channels != 3) {
    throw DataError("image channels must be 1 or 3 (or 0: as the images are), not " +
                    std::to_string(options.channels));
  }
  if ((options.height == 0) != (options.width == 0)) {
    throw DataError("image size " + size_text(options.height, options.width) +
                    ": give both height and width, or neither");
  }
}

bool holds_image_file(const fs::path& folder) {
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (!is_hidden(name) && has_image_extension(name) && !it->is_directory(type_ec)) return true;
  }
  return false;
}

}  // namespace

ImageFolderSet load_class_folders(const fs::path& dir, const ImageFolderOptions& options,
                                  const std::vector<std::string>* expected_classes) {
  check_options(options);
  const Listing listing = list_set(dir, expected_classes);

  std::uint64_t key = 0;
  fs::path cache_file;
  std::vector<std::string> warnings;
  const bool caching = options.cache_dir && !options.cache_dir->empty();
  if (caching) {
    key = image_folder_cache_key(dir, options, listing.class_names, listing.ignored, listing.files);
    cache_file = cache_file_path(*options.cache_dir, key);
    std::string reason;
    std::optional<ImageFolderSet> cached = read_cache(cache_file, key, &reason);
    if (cached && (cached->files.size() + cached->skipped.size() != listing.files.size() ||
                   cached->images.class_names != listing.class_names)) {
      reason = cache_file.string() + ": does not match the folder's listing";
      cached.reset();
    }
    if (cached) return std::move(*cached);
    if (!reason.empty()) warnings.push_back(reason + "; rebuilding");
  }

  ImageFolderSet set = decode_set(dir, listing, options);
  if (caching) {
    std::string warning = write_cache(cache_file, key, set);
    if (!warning.empty()) warnings.push_back(std::move(warning));
  }
  set.cache_warnings = std::move(warnings);
  return set;
}

bool is_class_folder_set(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (is_hidden(it->path().filename().string()) || !it->is_directory(type_ec)) continue;
    if (holds_image_file(it->path())) return true;
  }
  return false;
}

ImageFolderSplits load_image_folders(const fs::path& dir, const ImageFolderOptions& options) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) throw DataError(dir.string() + ": no such folder");
  const fs::path train_dir = dir / "train";
  ImageFolderSplits splits;
  if (!fs::is_directory(train_dir, ec)) {
    splits.train = load_class_folders(dir, options);
    return splits;
  }

  splits.train = load_class_folders(train_dir, options);
  const Shape& shape = splits.train.images.image;
  ImageFolderOptions like_train = options;
  like_train.channels = shape[0];
  like_train.height = shape[1];
  like_train.width = shape[2];
  const std::vector<std::string>& classes = splits.train.images.class_names;
  if (fs::is_directory(dir / "val", ec)) {
    splits.validation = load_class_folders(dir / "val", like_train, &classes);
  }
  if (fs::is_directory(dir / "test", ec)) {
    splits.test = load_class_folders(dir / "test", like_train, &classes);
  }
  return splits;
}

bool is_image_folder_root(const fs::path& dir) {
  return is_class_folder_set(dir / "train") || is_class_folder_set(dir);
}

}  // namespace cnn
