// convert_channels and resize_image (declared in cnn/data/image.hpp, which states the formulas).
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "cnn/data/image.hpp"

namespace cnn {

namespace {

void check_image(const Image& image, const char* function) {
  if ((image.channels != 1 && image.channels != 3) ||
      image.pixels.size() != image.channels * image.height * image.width) {
    throw std::invalid_argument(std::string(function) + ": an image of " +
                                std::to_string(image.channels) + " channels, " +
                                std::to_string(image.height) + "x" + std::to_string(image.width) +
                                " and " + std::to_string(image.pixels.size()) +
                                " bytes (1 or 3 channels of height x width bytes expected)");
  }
}

// The taps of a resampled axis, flat (one allocation each, not one per output sample): output
// sample o blends inputs first[o] .. first[o] + count[o] - 1 with weights[o · stride + k].
struct AxisTaps {
  std::vector<std::size_t> first, count;
  std::size_t stride = 0;
  std::vector<float> weights;
};

// The weights of resampling an axis of `in` samples to `out` samples with the triangle filter,
// PIL's way: sample centres at half pixels, the filter's support (1 input pixel each side)
// widened by the scale factor when shrinking, the taps that fall outside the image dropped and
// the rest normalised to sum 1 (which is the same as clamping at the edge when enlarging).
AxisTaps triangle_taps(std::size_t in, std::size_t out) {
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  const double widen = std::max(scale, 1.0);
  const double support = widen;
  AxisTaps taps;
  taps.first.resize(out);
  taps.count.resize(out);
  taps.stride = static_cast<std::size_t>(std::ceil(2 * support)) + 2;
  taps.weights.assign(out * taps.stride, 0.0f);
  std::vector<double> weights(taps.stride);
  for (std::size_t o = 0; o < out; ++o) {
    const double centre = (static_cast<double>(o) + 0.5) * scale;
    const auto lowest = static_cast<std::ptrdiff_t>(std::floor(centre - support + 0.5));
    const auto past = static_cast<std::ptrdiff_t>(std::floor(centre + support + 0.5));
    const auto begin = static_cast<std::size_t>(std::max<std::ptrdiff_t>(lowest, 0));
    const std::size_t end = std::min(
        {static_cast<std::size_t>(std::max<std::ptrdiff_t>(past, 0)), in, begin + taps.stride});
    double sum = 0;
    std::size_t count = 0;
    for (std::size_t i = begin; i < end; ++i) {
      const double distance = std::abs((static_cast<double>(i) + 0.5 - centre) / widen);
      weights[i - begin] = std::max(0.0, 1.0 - distance);
      sum += weights[i - begin];
      if (weights[i - begin] > 0.0) count = i - begin + 1;  // trailing zero weights dropped
    }
    taps.first[o] = begin;
    float* to = taps.weights.data() + o * taps.stride;
    if (sum <= 0.0) {
      // Cannot happen (the nearest input sample is always within half a pixel of the centre),
      // guarded all the same: the nearest sample.
      taps.first[o] = std::min(static_cast<std::size_t>(centre), in - 1);
      taps.count[o] = 1;
      to[0] = 1.0f;
      continue;
    }
    taps.count[o] = count;
    for (std::size_t k = 0; k < count; ++k) to[k] = static_cast<float>(weights[k] / sum);
  }
  return taps;
}

std::uint8_t to_byte(float value) {
  // Round half up; the weights sum to 1, so the value is within 0..255 up to rounding error.
  return static_cast<std::uint8_t>(std::clamp(value + 0.5f, 0.0f, 255.0f));
}

}  // namespace

Image convert_channels(const Image& image, std::size_t channels) {
  if (channels != 1 && channels != 3) {
    throw std::invalid_argument("convert_channels: " + std::to_string(channels) +
                                " channels asked for (1 or 3 expected)");
  }
  check_image(image, "convert_channels");
  if (channels == image.channels) return image;
  const std::size_t plane = image.height * image.width;
  Image out{channels, image.height, image.width, {}};
  if (channels == 3) {
    out.pixels.reserve(3 * plane);
    for (int c = 0; c < 3; ++c) {
      out.pixels.insert(out.pixels.end(), image.pixels.begin(), image.pixels.end());
    }
    return out;
  }
  out.pixels.resize(plane);
  const std::uint8_t* r = image.pixels.data();
  const std::uint8_t* g = r + plane;
  const std::uint8_t* b = g + plane;
  for (std::size_t i = 0; i < plane; ++i) {
    out.pixels[i] =
        static_cast<std::uint8_t>((299u * r[i] + 587u * g[i] + 114u * b[i] + 500u) / 1000u);
  }
  return out;
}

Image resize_image(const Image& image, std::size_t height, std::size_t width) {
  if (height == 0 || width == 0) {
    throw std::invalid_argument("resize_image: a size of " + std::to_string(height) + "x" +
                                std::to_string(width) + " asked for");
  }
  check_image(image, "resize_image");
  if (image.height == 0 || image.width == 0) {
    throw std::invalid_argument("resize_image: the image is empty");
  }
  if (height == image.height && width == image.width) return image;
  const AxisTaps across = triangle_taps(image.width, width);
  const AxisTaps down = triangle_taps(image.height, height);
  Image out{image.channels, height, width,
            std::vector<std::uint8_t>(image.channels * height * width)};
  // Rows first (input height x output width, kept in float, no rounding between the passes),
  // then columns.
  std::vector<float> rows(image.height * width);
  std::vector<float> sums(width);
  for (std::size_t c = 0; c < image.channels; ++c) {
    const std::uint8_t* in = image.pixels.data() + c * image.height * image.width;
    for (std::size_t y = 0; y < image.height; ++y) {
      const std::uint8_t* row = in + y * image.width;
      for (std::size_t x = 0; x < width; ++x) {
        const std::uint8_t* from = row + across.first[x];
        const float* weight = across.weights.data() + x * across.stride;
        float sum = 0;
        for (std::size_t k = 0; k < across.count[x]; ++k) sum += weight[k] * from[k];
        rows[y * width + x] = sum;
      }
    }
    std::uint8_t* to = out.pixels.data() + c * height * width;
    for (std::size_t y = 0; y < height; ++y) {
      const float* from = rows.data() + down.first[y] * width;
      const float* weight = down.weights.data() + y * down.stride;
      // Whole rows at a time (contiguous, so the compiler vectorises the inner loop).
      std::fill(sums.begin(), sums.end(), 0.0f);
      for (std::size_t k = 0; k < down.count[y]; ++k) {
        const float w = weight[k];
        const float* source = from + k * width;
        for (std::size_t x = 0; x < width; ++x) sums[x] += w * source[x];
      }
      for (std::size_t x = 0; x < width; ++x) to[y * width + x] = to_byte(sums[x]);
    }
  }
  return out;
}

}  // namespace cnn
