// Model files in the safetensors format: 8-byte little-endian header length, a JSON header
// giving each tensor's dtype, shape and byte range, then the raw little-endian float32 data.
//
// Tensor names and layouts are PyTorch's state_dict ones ("0.weight" [out, in, kh, kw], ...), so
// the file loads into the equivalent torch.nn.Sequential. Buffers (batch normalisation's
// running_mean and running_var) are stored next to the parameters, as in a state_dict.
// "__metadata__" records the format_version ("2"; files without one are version 0; versions 0
// and 1 hold the same keys, version 2 adds class_names, input_normalization, input_std and
// preparation; all load, a newer version is refused), what is needed to rebuild the network
// (architecture text, preset name, input shape, classes), the class names (a JSON array), the
// input normalisation (input_normalization: none, unit or standard; input_scale, input_mean,
// input_std: x = (pixel * input_scale - input_mean[c]) / input_std[c], pixels 0..255, the mean and
// std one value for every channel or one per channel), how predict prepares an image file
// (preparation: digit or resize) and the training settings. It also records
// the version of cnn that wrote the file (kVersionKey) and, for a trained model, the checksum of
// its training data (kDataChecksumKey, data_checksum below); files written before hold neither
// and load the same. Nothing in the file depends on the date or the machine, so the same run
// writes the same bytes.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cnn/data/dataset.hpp"
#include "cnn/data/normalization.hpp"
#include "cnn/nn/sequential.hpp"

namespace cnn {

// How `cnn predict` prepares an image file for the model:
// digit:  as the MNIST digits were prepared (prepare_digit in image.hpp: dark ink on light paper
//         inverted, cropped, scaled into 20x20 and centred by mass in 28x28); recorded when the
//         model was trained on digits (grey 28x28 images of the classes 0-9).
// resize: converted to the model's channels and resized to its input (resize_image), nothing
//         else; every other model.
enum class Preparation { digit, resize };
std::string preparation_name(Preparation preparation);
std::optional<Preparation> parse_preparation(std::string_view text);
// Files before format version 2 record no preparation: digit for a 1x28x28 input (they were
// trained on MNIST-like digits, as `cnn predict` assumed), resize for any other.
Preparation preparation_for_older_files(const Shape& input);

// A model file that cannot be used; the message names the file and the problem.
class ModelFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The input normalisation every model of this program uses: pixels scaled to [0, 1], no mean
// subtraction. Written to and checked in __metadata__ as text.
inline constexpr const char* kInputScaleText = "0.00392156862745098";  // 1/255

// The __metadata__ key of the cnn version that wrote the file ("0.1.0"; save_model sets it).
inline constexpr const char* kVersionKey = "cnn_version";
// The __metadata__ key of the training data's checksum (data_checksum; `cnn train` sets it).
inline constexpr const char* kDataChecksumKey = "training_data_crc32";

// A fingerprint of a data set as the program uses it: "crc32:" and 8 hex digits, the CRC-32 (as
// in gzip and PNG, zlib's crc32) of every image's pixels (one byte each, image after image, row
// after row) followed by every label (one byte each), taking parts in order. These are the
// payloads of the IDX files after decoding, without their headers, so the same images give the
// same value whether the files are raw or .gz. CRC-32 because it is fast (one pass of 47 MB for
// MNIST's training set) and zlib is already linked; it tells data sets apart, it is no defence
// against deliberate collisions.
std::string data_checksum(std::span<const Dataset> parts);

struct ModelInfo {
  std::string preset;  // preset name (see presets.hpp), or "custom"
  Shape input;         // one image: [C, H, W]
  std::size_t classes = 0;
  std::map<std::string, std::string> extra;  // training settings and results, free-form
  // The network in the architecture language (architecture.hpp); when empty, the preset's. The
  // loader rebuilds the network from it, so any architecture round-trips.
  std::string architecture{};
  // One name per class (the folder names of an image folder, batches.meta.txt of CIFAR-10); when
  // empty, "0", "1", ... Files before format version 2 hold none and load with the numbers.
  std::vector<std::string> class_names{};
  // How pixels become the input (normalization.hpp); files before version 2 all used unit.
  Normalization normalization{};
  // How `cnn predict` turns an image file into the input (Preparation); files before version 2
  // load as preparation_for_older_files says.
  Preparation preparation = Preparation::digit;

  // class_names, or "0", "1", ... when there are none.
  std::vector<std::string> names() const;
};

// Writes the model atomically: a temporary file in the same folder, flushed to disk, then renamed
// over path, so path holds either the old file or the complete new one. Throws ModelFileError.
void save_model(const std::filesystem::path& path, Sequential& model, const ModelInfo& info);

struct LoadedModel {
  Sequential model;
  ModelInfo info;
};

// Reads and validates a model file: the container (parse_safetensors: header bounds, JSON syntax,
// byte ranges in bounds, not overlapping and covering the data), the metadata, then every tensor
// of the rebuilt network present, F32, with the architecture's shape, and no other tensor. Throws
// ModelFileError naming the file and the problem.
LoadedModel load_model(const std::filesystem::path& path);
// The same checks on a file's bytes already in memory; `name` stands for the file in messages.
// load_model is this applied to the file's bytes; the fuzz target in fuzz/ calls it directly.
LoadedModel parse_model(std::span<const char> bytes, const std::string& name);

}  // namespace cnn
