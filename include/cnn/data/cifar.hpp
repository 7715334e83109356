// Reading and writing CIFAR-10's binary version (the folder cifar-10-batches-bin).
//
// A batch file (data_batch_1.bin ... data_batch_5.bin, test_batch.bin; 10,000 images each) is
// records of 3073 bytes one after the other, nothing else: 1 label byte (0..9), then 3072 pixel
// bytes: 1024 red, 1024 green, 1024 blue, each a 32x32 plane row by row. That is LabelledImages'
// planar layout, so the pixels are copied as they are. batches.meta.txt names the classes, one
// name per line, label 0 first.
//
// Errors: DataError, the message starting with the file's name and saying what was expected
// (and, for a bad record, its number, counted from 1, and its byte offset, counted from 0).
//
// No copy of CIFAR-10 is used by the tests: they write files in this format with the writers
// below and with hand-made bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "cnn/data/dataset.hpp"
#include "cnn/data/idx.hpp"

namespace cnn {

inline constexpr std::size_t kCifarClasses = 10;
inline constexpr std::size_t kCifarSide = 32;                                 // 32x32 images
inline constexpr std::size_t kCifarImageBytes = 3 * kCifarSide * kCifarSide;  // 3072
inline constexpr std::size_t kCifarRecordBytes = 1 + kCifarImageBytes;        // 3073

// The records of one batch file (its bytes as they are, not compressed): images of [3, 32, 32]
// with class_names "0".."9" until the caller sets them. DataError for an empty file, a length
// that is not a whole number of records (naming the record that is cut short and where), or a
// label above 9 (naming the record and the label's byte offset). `name` stands for the file.
LabelledImages parse_cifar_batch(std::span<const std::uint8_t> bytes, const std::string& name);

// The class names of batches.meta.txt: one per line; spaces, tabs and CRs around a name are
// trimmed and empty lines dropped. DataError unless exactly 10 names remain, or when a name holds
// control characters or is not UTF-8 (names are printed and stored in model files), or when two
// names are the same.
// (`text` is all of it: a string literal converts to a span with its terminating NUL, which is
// then a control character; pass a std::string_view.)
std::vector<std::string> parse_cifar_names(std::span<const char> text, const std::string& name);

// A batch file read whole (raw, or gzip-compressed: detected by content) and parsed; DataError
// names the file for a missing or unreadable one too.
LabelledImages load_cifar_batch(const std::filesystem::path& path);

// True when dir holds data_batch_1.bin, the mark of a CIFAR-10 folder. Never throws.
bool is_cifar10_folder(const std::filesystem::path& dir);

struct CifarSplits {
  LabelledImages train, test;
  // True when the class names come from batches.meta.txt; false when that file is absent and
  // the classes are numbered "0".."9" (the caller may say so).
  bool names_from_meta = false;
};

// Loads a CIFAR-10 folder: train is data_batch_1.bin ... data_batch_5.bin in that order (all
// five required), test is test_batch.bin, and both get the class names of batches.meta.txt when
// it is there. A missing batch is a DataError naming it and listing what a CIFAR-10 folder holds;
// any problem of a file is a DataError naming that file.
CifarSplits load_cifar10(const std::filesystem::path& dir);

// Writers, for tests and tools. write_cifar_batch takes images of [3, 32, 32] with labels 0..9
// (else std::invalid_argument); write_cifar_names writes one name per line. Both throw DataError
// naming the file on I/O errors.
void write_cifar_batch(const std::filesystem::path& path, const LabelledImages& images);
void write_cifar_names(const std::filesystem::path& path, const std::vector<std::string>& names);

}  // namespace cnn
