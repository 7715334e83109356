// Input normalisation: how the bytes of an image (0..255 per channel) become the network's input.
//
//   x[c, y, x] = (pixel · scale − mean[c]) / std[c]
//
// none:     scale 1, mean 0, std 1 (the raw pixel values);
// unit:     scale 1/255, mean 0, std 1 (pixels to [0, 1]; every model before format version 2);
// standard: scale 1/255, mean and std of each channel measured on the training images, so that
//           each channel of the training set has mean 0 and standard deviation 1.
// Model files record it (input_normalization, input_scale, input_mean, input_std), so that eval,
// predict and PyTorch apply the one the model was trained with.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cnn {

enum class NormalizationKind { none, unit, standard };

// "none", "unit", "standard" and back (nullopt for any other text).
std::string normalization_name(NormalizationKind kind);
std::optional<NormalizationKind> parse_normalization_kind(std::string_view text);

class Normalization {
 public:
  // unit: pixel / 255.
  Normalization() = default;
  static Normalization none();
  static Normalization unit();
  // standard with the given statistics of pixel / 255, one value per channel; throws
  // std::invalid_argument when the lists differ in length, are empty, or a std is not > 0 or a
  // value is not finite.
  static Normalization standard(std::vector<float> mean, std::vector<float> stddev);
  // standard, measured: the mean and (population) standard deviation of pixel / 255 of each
  // channel over `count` images of `channels` planes of `plane` bytes each, image after image.
  // Exact: sums of byte counts, so every process and thread count gets the same values. A channel
  // whose pixels are all equal gets std 1 (nothing to scale).
  static Normalization measure(const std::uint8_t* pixels, std::size_t count, std::size_t channels,
                               std::size_t plane);

  NormalizationKind kind() const { return kind_; }
  float scale() const;                      // 1 or 1/255
  float mean(std::size_t channel) const;    // 0 unless standard
  float stddev(std::size_t channel) const;  // 1 unless standard
  // Channels it holds statistics for: 0 for none and unit (which fit any count).
  std::size_t channels() const { return mean_.size(); }
  // Whether it fits images of `channels` channels.
  bool fits(std::size_t channels) const { return mean_.empty() || mean_.size() == channels; }

  // x := the normalised values of one image of `channels` planes of `plane` pixels (planar).
  // unit computes pixel / 255.0f exactly as every model before format version 2 was trained.
  void apply(const std::uint8_t* pixels, std::size_t channels, std::size_t plane, float* x) const;
  // The same for a float pixel value (0..255) of one channel, for inputs already resampled.
  float apply(float pixel, std::size_t channel) const;

  friend bool operator==(const Normalization&, const Normalization&) = default;

 private:
  NormalizationKind kind_ = NormalizationKind::unit;
  std::vector<float> mean_, stddev_;  // standard only: one per channel
};

// "x = pixel / 255" and the like, for printouts: the formula with the numbers.
std::string describe(const Normalization& normalization);

}  // namespace cnn
