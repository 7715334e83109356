// Image folders: labelled images laid out as torchvision's ImageFolder and Keras'
// image_dataset_from_directory expect them, one sub-folder per class.
//
//   DIR/<class>/<image files>                        one set (the caller splits it)
//   DIR/train/<class>/..., DIR/val/..., DIR/test/...   splits; val/ and test/ are optional
//
// Class names are the sub-folder names sorted by bytes; a class's label is its index. Image files
// are those ending in .png, .jpg, .jpeg, .pgm or .ppm, in any case; the format is then found from
// the file's first bytes (image.hpp). Names starting with '.' (hidden files and folders) are
// skipped; other files, and folders nested inside a class folder, are ignored and counted.
// Symbolic links are followed. Images are ordered by class, then by file name (bytes): the same
// folder always gives the same order, whatever the file system lists first.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cnn/data/dataset.hpp"

namespace cnn {

struct ImageFolderOptions {
  // 0: the set's own rule, colour (3 channels) when any image is colour, else grey (1). 1 or 3:
  // every image converted to that many channels (convert_channels). Other counts: DataError.
  std::size_t channels = 0;
  // 0 (both): every image must have the first image's size, else DataError naming the file, its
  // size and the expected one. Non-zero (both): every image resized to height x width
  // (resize_image). One zero and one not: DataError.
  std::size_t height = 0, width = 0;
  // Images that cannot be decoded (corrupt, truncated, unknown format) are listed in
  // ImageFolderSet::skipped instead of being an error.
  bool skip_bad_images = false;
  // Folder of the decoded cache (decoded_cache.hpp); nullopt: no cache.
  std::optional<std::filesystem::path> cache_dir;
  // Called on the calling thread while decoding: (images decoded so far, images in the set),
  // after every chunk of images, the last call with done == total. Not called on a cache hit.
  std::function<void(std::size_t done, std::size_t total)> progress;
};

struct ImageFolderSet {
  LabelledImages images;
  std::vector<std::string> files;    // the images' paths relative to the set's folder, in order
  std::vector<std::string> skipped;  // "<path>: <reason>" of every image skip_bad_images skipped
  std::size_t ignored_files = 0;     // entries that are neither images nor hidden (README.txt, ...)
  bool from_cache = false;           // read from the decoded cache, nothing decoded
  // Problems with the cache that did not stop the load, for the caller to print: a cache file
  // that was not trusted ("...: checksum mismatch; rebuilding") or could not be written.
  std::vector<std::string> cache_warnings;
};

// The class folder set DIR/<class>/<files>. With expected_classes (the training set's class names,
// for a validation or test set) labels index into that list and images.class_names is it; a class
// folder missing from it is a DataError ("test/zebra: class 'zebra' is not among the training
// classes (cat, dog)"), a training class without a folder here is fine.
//
// Throws DataError, naming the path, for: DIR missing or not a folder; no class folders; a class
// folder without images ("train/cat: no images (.png, .jpg, .jpeg, .pgm, .ppm)"); more than
// kMaxClasses classes; an image that cannot be read or decoded (the ImageError message; unless
// skip_bad_images); an image of another size than the first when no size is given; no images
// left after skipping; bad options.
//
// Files are read and decoded on the library's threads (parallel_for), 512 at a time, so that at
// most one chunk of decoded images exists besides the result. The result holds each image once
// at its final channel count: with channels = 0 a grey set is stored with 1 channel; when the
// first colour image turns up the images stored so far are widened to 3 channels in place.
ImageFolderSet load_class_folders(const std::filesystem::path& dir,
                                  const ImageFolderOptions& options,
                                  const std::vector<std::string>* expected_classes = nullptr);

// True when dir is a folder with at least one non-hidden sub-folder holding an image file (by
// name, as above). Never throws.
bool is_class_folder_set(const std::filesystem::path& dir);

struct ImageFolderSplits {
  ImageFolderSet train;
  std::optional<ImageFolderSet> validation, test;
};

// When DIR/train is a folder: train from it, then DIR/val and DIR/test when present, with train's
// class names (expected_classes), channels and image size (their images are resized to train's
// size; a colour training set makes them colour). Otherwise DIR itself is the one set (train).
// Throws DataError as load_class_folders does.
ImageFolderSplits load_image_folders(const std::filesystem::path& dir,
                                     const ImageFolderOptions& options);

// True when DIR/train is a class folder set, or DIR is one. Never throws.
bool is_image_folder_root(const std::filesystem::path& dir);

}  // namespace cnn
