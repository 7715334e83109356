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

// One output sample of a resampled axis: the first input index and the normalised weights of
// the inputs from there on.
struct Taps {
  std::size_t first = 0;
  std::vector<float> weights;
};

// The weights of resampling an axis of `in` samples to `out` samples with the triangle filter,
// PIL's way: sample centres at half pixels, the filter's support (1 input pixel each side)
// widened by the scale factor when shrinking, the taps that fall outside the image dropped and
// the rest normalised to sum 1 (which is the same as clamping at the edge when enlarging).
std::vector<Taps> triangle_taps(std::size_t in, std::size_t out) {
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  const double widen = std::max(scale, 1.0);
  const double support = widen;
  std::vector<Taps> taps(out);
  for (std::size_t o = 0; o < out; ++o) {
    const double centre = (static_cast<double>(o) + 0.5) * scale;
    const auto first = static_cast<std::ptrdiff_t>(std::floor(centre - support + 0.5));
    const auto last = static_cast<std::ptrdiff_t>(std::floor(centre + support + 0.5));  // past
    const std::size_t begin = static_cast<std::size_t>(std::max<std::ptrdiff_t>(first, 0));
    const std::size_t end =
        std::min(static_cast<std::size_t>(std::max<std::ptrdiff_t>(last, 0)), in);
    Taps& t = taps[o];
    t.first = begin;
    double sum = 0;
    std::vector<double> weights;
    for (std::size_t i = begin; i < end; ++i) {
      const double distance = std::abs((static_cast<double>(i) + 0.5 - centre) / widen);
      const double weight = std::max(0.0, 1.0 - distance);
      weights.push_back(weight);
      sum += weight;
    }
    // Trailing zero weights are dropped; a sum of zero cannot happen (the nearest input sample
    // is always within half a pixel of the centre) but is guarded all the same.
    while (!weights.empty() && weights.back() == 0.0) weights.pop_back();
    if (sum <= 0.0) {
      t.first = std::min(static_cast<std::size_t>(centre), in - 1);
      t.weights = {1.0f};
      continue;
    }
    for (const double w : weights) t.weights.push_back(static_cast<float>(w / sum));
  }
  return taps;
}

std::uint8_t to_byte(float value) {
  return static_cast<std::uint8_t>(std::clamp(std::lround(value), 0L, 255L));
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
  const std::vector<Taps> across = triangle_taps(image.width, width);
  const std::vector<Taps> down = triangle_taps(image.height, height);
  Image out{image.channels, height, width,
            std::vector<std::uint8_t>(image.channels * height * width)};
  // Rows first (input height x output width, kept in float, no rounding between the passes),
  // then columns.
  std::vector<float> rows(image.height * width);
  for (std::size_t c = 0; c < image.channels; ++c) {
    const std::uint8_t* in = image.pixels.data() + c * image.height * image.width;
    for (std::size_t y = 0; y < image.height; ++y) {
      const std::uint8_t* row = in + y * image.width;
      for (std::size_t x = 0; x < width; ++x) {
        const Taps& t = across[x];
        float sum = 0;
        for (std::size_t k = 0; k < t.weights.size(); ++k) sum += t.weights[k] * row[t.first + k];
        rows[y * width + x] = sum;
      }
    }
    std::uint8_t* to = out.pixels.data() + c * height * width;
    for (std::size_t y = 0; y < height; ++y) {
      const Taps& t = down[y];
      for (std::size_t x = 0; x < width; ++x) {
        float sum = 0;
        for (std::size_t k = 0; k < t.weights.size(); ++k) {
          sum += t.weights[k] * rows[(t.first + k) * width + x];
        }
        to[y * width + x] = to_byte(sum);
      }
    }
  }
  return out;
}

}  // namespace cnn
