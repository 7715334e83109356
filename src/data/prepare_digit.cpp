// prepare_digit (declared in image.hpp with the image reader it follows): a drawing prepared the
// way the MNIST digits were. Find the ink, crop it, fit it to a 20x20 box and centre it by mass
// in a 28x28 image; each step is a function below, in the order prepare_digit calls them.
#include "cnn/data/image.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace cnn {

namespace {

// Samples src (w x h floats) into a out_w x out_h image covering the same area: the mean of the
// source area under each output pixel when shrinking (anti-aliased), bilinear when enlarging.
std::vector<float> resample(const std::vector<float>& src, std::size_t w, std::size_t h,
                            std::size_t out_w, std::size_t out_h) {
  std::vector<float> out(out_w * out_h, 0.0f);
  const double sx = static_cast<double>(w) / static_cast<double>(out_w);
  const double sy = static_cast<double>(h) / static_cast<double>(out_h);
  if (sx >= 1.0 && sy >= 1.0) {
    // Area average: output pixel (ox, oy) covers [ox·sx, (ox+1)·sx) x [oy·sy, (oy+1)·sy).
    for (std::size_t oy = 0; oy < out_h; ++oy) {
      const double y0 = static_cast<double>(oy) * sy, y1 = y0 + sy;
      for (std::size_t ox = 0; ox < out_w; ++ox) {
        const double x0 = static_cast<double>(ox) * sx, x1 = x0 + sx;
        double sum = 0.0;
        for (auto y = static_cast<std::size_t>(y0); y < h && static_cast<double>(y) < y1; ++y) {
          const double wy = std::min<double>(y + 1, y1) - std::max<double>(y, y0);
          for (auto x = static_cast<std::size_t>(x0); x < w && static_cast<double>(x) < x1; ++x) {
            const double wx = std::min<double>(x + 1, x1) - std::max<double>(x, x0);
            sum += wx * wy * src[y * w + x];
          }
        }
        out[oy * out_w + ox] = static_cast<float>(sum / (sx * sy));
      }
    }
    return out;
  }
  for (std::size_t oy = 0; oy < out_h; ++oy) {
    const double fy =
        std::clamp((static_cast<double>(oy) + 0.5) * sy - 0.5, 0.0, static_cast<double>(h - 1));
    const auto y = static_cast<std::size_t>(fy);
    const std::size_t y2 = std::min(y + 1, h - 1);
    const double ty = fy - static_cast<double>(y);
    for (std::size_t ox = 0; ox < out_w; ++ox) {
      const double fx =
          std::clamp((static_cast<double>(ox) + 0.5) * sx - 0.5, 0.0, static_cast<double>(w - 1));
      const auto x = static_cast<std::size_t>(fx);
      const std::size_t x2 = std::min(x + 1, w - 1);
      const double tx = fx - static_cast<double>(x);
      const double top = src[y * w + x] * (1 - tx) + src[y * w + x2] * tx;
      const double bottom = src[y2 * w + x] * (1 - tx) + src[y2 * w + x2] * tx;
      out[oy * out_w + ox] = static_cast<float>(top * (1 - ty) + bottom * ty);
    }
  }
  return out;
}

// Ink of every pixel in 0..1: brightness above the background, divided by the strongest ink. The
// background is the median of the border pixels; a light one (paper) means a dark digit, so the
// image is inverted first. Throws ImageError when there is hardly any ink.
std::vector<float> ink_of(const GrayImage& image, const std::string& name) {
  const std::size_t w = image.width, h = image.height;
  std::vector<std::uint8_t> border;
  for (std::size_t x = 0; x < w; ++x) {
    border.push_back(image.at(x, 0));
    border.push_back(image.at(x, h - 1));
  }
  for (std::size_t y = 0; y < h; ++y) {
    border.push_back(image.at(0, y));
    border.push_back(image.at(w - 1, y));
  }
  std::nth_element(border.begin(), border.begin() + static_cast<long>(border.size() / 2),
                   border.end());
  const int background_raw = border[border.size() / 2];
  const bool invert = background_raw > 127;
  const float background = static_cast<float>(invert ? 255 - background_raw : background_raw);

  std::vector<float> ink(w * h);
  float strongest = 0.0f;
  for (std::size_t i = 0; i < ink.size(); ++i) {
    const float v = static_cast<float>(invert ? 255 - image.pixels[i] : image.pixels[i]);
    ink[i] = std::max(0.0f, v - background);
    strongest = std::max(strongest, ink[i]);
  }
  if (strongest < 32.0f) {
    throw ImageError(name + ": no digit found (the image is nearly uniform)");
  }
  for (float& v : ink) v /= strongest;
  return ink;
}

// A w x h image of floats, row-major.
struct Plane {
  std::vector<float> values;
  std::size_t w = 0, h = 0;
};

// The bounding box of clear ink (a quarter of the strongest), ignoring faint noise and shadows,
// cut out of the ink. There is such ink: ink_of has made the strongest 1.
Plane crop_to_ink(const std::vector<float>& ink, std::size_t w, std::size_t h) {
  std::size_t left = w, right = 0, top = h, bottom = 0;
  for (std::size_t y = 0; y < h; ++y) {
    for (std::size_t x = 0; x < w; ++x) {
      if (ink[y * w + x] >= 0.25f) {
        left = std::min(left, x);
        right = std::max(right, x);
        top = std::min(top, y);
        bottom = std::max(bottom, y);
      }
    }
  }
  Plane crop{{}, right - left + 1, bottom - top + 1};
  crop.values.resize(crop.w * crop.h);
  for (std::size_t y = 0; y < crop.h; ++y) {
    for (std::size_t x = 0; x < crop.w; ++x) {
      crop.values[y * crop.w + x] = ink[(top + y) * w + left + x];
    }
  }
  return crop;
}

// The longer side scaled to 20 pixels, keeping the aspect ratio (at least 1 pixel the other way),
// and the strongest value brought back to 1.
Plane fit_to_box(const Plane& crop) {
  const std::size_t longer = std::max(crop.w, crop.h);
  Plane box{{},
            std::max<std::size_t>(1, (crop.w * 20 + longer / 2) / longer),
            std::max<std::size_t>(1, (crop.h * 20 + longer / 2) / longer)};
  box.values = resample(crop.values, crop.w, crop.h, box.w, box.h);
  const float box_max = *std::max_element(box.values.begin(), box.values.end());
  if (box_max > 0.0f) {
    for (float& v : box.values) v /= box_max;
  }
  return box;
}

// The box placed in a 28x28 image with its centre of mass at pixel (14, 14); the shift is rounded
// to whole pixels (as for MNIST) and whatever falls outside is cut off.
GrayImage centre_by_mass(const Plane& box) {
  double mass = 0.0, mx = 0.0, my = 0.0;
  for (std::size_t y = 0; y < box.h; ++y) {
    for (std::size_t x = 0; x < box.w; ++x) {
      const double v = box.values[y * box.w + x];
      mass += v;
      mx += v * (static_cast<double>(x) + 0.5);
      my += v * (static_cast<double>(y) + 0.5);
    }
  }
  const auto shift_x = static_cast<long>(std::lround(14.0 - mx / mass));
  const auto shift_y = static_cast<long>(std::lround(14.0 - my / mass));
  GrayImage out{28, 28, std::vector<std::uint8_t>(28 * 28, 0)};
  for (std::size_t y = 0; y < box.h; ++y) {
    for (std::size_t x = 0; x < box.w; ++x) {
      const long tx = static_cast<long>(x) + shift_x, ty = static_cast<long>(y) + shift_y;
      if (tx < 0 || ty < 0 || tx >= 28 || ty >= 28) continue;
      const float v = std::clamp(box.values[y * box.w + x], 0.0f, 1.0f);
      out.pixels[static_cast<std::size_t>(ty) * 28 + static_cast<std::size_t>(tx)] =
          static_cast<std::uint8_t>(std::lround(v * 255));
    }
  }
  return out;
}

}  // namespace

GrayImage prepare_digit(const GrayImage& image, const std::string& name) {
  if (image.width == 0 || image.height == 0 || image.pixels.size() != image.width * image.height) {
    throw ImageError(name + ": empty image");
  }
  const std::vector<float> ink = ink_of(image, name);
  return centre_by_mass(fit_to_box(crop_to_ink(ink, image.width, image.height)));
}

}  // namespace cnn
