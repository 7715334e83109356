#include "cnn/data/normalization.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "kernels/kernels.hpp"

namespace cnn {

std::string normalization_name(NormalizationKind kind) {
  switch (kind) {
    case NormalizationKind::none:
      return "none";
    case NormalizationKind::unit:
      return "unit";
    case NormalizationKind::standard:
      return "standard";
  }
  return "unit";
}

std::optional<NormalizationKind> parse_normalization_kind(std::string_view text) {
  if (text == "none") return NormalizationKind::none;
  if (text == "unit") return NormalizationKind::unit;
  if (text == "standard") return NormalizationKind::standard;
  return std::nullopt;
}

Normalization Normalization::none() {
  Normalization n;
  n.kind_ = NormalizationKind::none;
  return n;
}

Normalization Normalization::unit() {
  return Normalization();
}

Normalization Normalization::standard(std::vector<float> mean, std::vector<float> stddev) {
  if (mean.empty() || mean.size() != stddev.size()) {
    throw std::invalid_argument(
        "standard normalisation needs one mean and one std per channel, got " +
        std::to_string(mean.size()) + " and " + std::to_string(stddev.size()));
  }
  for (std::size_t c = 0; c < mean.size(); ++c) {
    if (!std::isfinite(mean[c]) || !std::isfinite(stddev[c]) || !(stddev[c] > 0.0f)) {
      throw std::invalid_argument("standard normalisation of channel " + std::to_string(c) +
                                  ": mean " + std::to_string(mean[c]) + " and std " +
                                  std::to_string(stddev[c]) +
                                  " (a finite mean and a std > 0 needed)");
    }
  }
  Normalization n;
  n.kind_ = NormalizationKind::standard;
  n.mean_ = std::move(mean);
  n.stddev_ = std::move(stddev);
  return n;
}

Normalization Normalization::measure(const std::uint8_t* pixels, std::size_t count,
                                     std::size_t channels, std::size_t plane) {
  std::vector<float> mean(channels), stddev(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    // How often each byte value occurs in channel c: exact, and the same however it is split.
    std::array<std::uint64_t, 256> histogram{};
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint8_t* p = pixels + (i * channels + c) * plane;
      for (std::size_t k = 0; k < plane; ++k) ++histogram[p[k]];
    }
    const double n = static_cast<double>(count * plane);
    double sum = 0.0;
    for (std::size_t v = 0; v < 256; ++v) sum += static_cast<double>(histogram[v]) * (v / 255.0);
    const double m = n > 0 ? sum / n : 0.0;
    double squares = 0.0;
    for (std::size_t v = 0; v < 256; ++v) {
      const double d = v / 255.0 - m;
      squares += static_cast<double>(histogram[v]) * d * d;
    }
    const double s = n > 0 ? std::sqrt(squares / n) : 0.0;
    mean[c] = static_cast<float>(m);
    stddev[c] = s > 1e-6 ? static_cast<float>(s) : 1.0f;
  }
  return standard(std::move(mean), std::move(stddev));
}

float Normalization::scale() const {
  return kind_ == NormalizationKind::none ? 1.0f : 1.0f / 255.0f;
}

float Normalization::mean(std::size_t channel) const {
  return mean_.empty() ? 0.0f : mean_.at(channel);
}

float Normalization::stddev(std::size_t channel) const {
  return stddev_.empty() ? 1.0f : stddev_.at(channel);
}

void Normalization::apply(const std::uint8_t* pixels, std::size_t channels, std::size_t plane,
                          float* x) const {
  switch (kind_) {
    case NormalizationKind::none:
      kernels::bytes_to_floats(pixels, x, channels * plane);
      return;
    case NormalizationKind::unit:
      // The exact division, as every model before format version 2 was trained.
      kernels::bytes_to_unit_floats(pixels, x, channels * plane);
      return;
    case NormalizationKind::standard:
      for (std::size_t c = 0; c < channels; ++c) {
        kernels::bytes_to_standard_floats(pixels + c * plane, x + c * plane, plane, mean_.at(c),
                                          stddev_.at(c));
      }
      return;
  }
}

float Normalization::apply(float pixel, std::size_t channel) const {
  switch (kind_) {
    case NormalizationKind::none:
      return pixel;
    case NormalizationKind::unit:
      return pixel / 255.0f;
    case NormalizationKind::standard:
      return (pixel / 255.0f - mean_.at(channel)) / stddev_.at(channel);
  }
  return pixel / 255.0f;
}

std::string describe(const Normalization& normalization) {
  switch (normalization.kind()) {
    case NormalizationKind::none:
      return "none: x = pixel (0..255)";
    case NormalizationKind::unit:
      return "unit: x = pixel / 255 (pixels 0..255 to [0, 1]), no mean subtraction";
    case NormalizationKind::standard: {
      std::string text = "standard: x = (pixel / 255 - mean[c]) / std[c], mean";
      char number[32];
      for (std::size_t c = 0; c < normalization.channels(); ++c) {
        std::snprintf(number, sizeof number, "%s%.4f", c == 0 ? " " : ", ",
                      static_cast<double>(normalization.mean(c)));
        text += number;
      }
      text += ", std";
      for (std::size_t c = 0; c < normalization.channels(); ++c) {
        std::snprintf(number, sizeof number, "%s%.4f", c == 0 ? " " : ", ",
                      static_cast<double>(normalization.stddev(c)));
        text += number;
      }
      return text;
    }
  }
  return "";
}

}  // namespace cnn
