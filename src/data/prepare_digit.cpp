// prepare_digit (declared in image.hpp with the image reader it follows): a drawing or photo
// prepared the way the MNIST digits were. Find the ink against a background estimated locally,
// crop it, fit it to a 20x20 box and centre it by mass in a 28x28 image; each step is a function
// below (with the image processing it needs just before it), in the order prepare_digit calls them.
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

// A w x h image of floats, row-major.
struct Plane {
  std::vector<float> values;
  std::size_t w = 0, h = 0;

  float& at(std::size_t x, std::size_t y) { return values[y * w + x]; }
  float at(std::size_t x, std::size_t y) const { return values[y * w + x]; }
};

// One pass of a flat 1-D minimum or maximum filter of width 2·radius + 1 along every row
// (stride 1) or column (stride w) of `plane`, windows clipped at the edges. A monotonic deque
// of candidate positions makes it O(pixels) whatever the radius (each index enters and leaves
// once).
void extremum_filter_1d(Plane& plane, bool rows, std::size_t radius, bool take_max) {
  const std::size_t lines = rows ? plane.h : plane.w, length = rows ? plane.w : plane.h;
  const std::size_t stride = rows ? 1 : plane.w, line_step = rows ? plane.w : 1;
  std::vector<float> line(length);
  std::vector<std::size_t> window(length);  // a deque as a ring-free array: [head, tail)
  for (std::size_t l = 0; l < lines; ++l) {
    float* base = plane.values.data() + l * line_step;
    for (std::size_t i = 0; i < length; ++i) line[i] = base[i * stride];
    std::size_t head = 0, tail = 0, next = 0;
    for (std::size_t i = 0; i < length; ++i) {
      // Admit every position up to i + radius; drop those it beats (they can never win again).
      for (; next < length && next <= i + radius; ++next) {
        while (tail > head && (take_max ? line[window[tail - 1]] <= line[next]
                                        : line[window[tail - 1]] >= line[next])) {
          --tail;
        }
        window[tail++] = next;
      }
      while (window[head] + radius < i) ++head;  // left the window
      base[i * stride] = line[window[head]];
    }
  }
}

// Grey-scale opening with a flat square of side 2·radius + 1: erosion (minimum) then dilation
// (maximum), each separable into a row and a column pass. It keeps what a square that size
// fits under, so everything narrower (the strokes) is gone and the lighting stays.
void open_square(Plane& plane, std::size_t radius) {
  extremum_filter_1d(plane, true, radius, false);
  extremum_filter_1d(plane, false, radius, false);
  extremum_filter_1d(plane, true, radius, true);
  extremum_filter_1d(plane, false, radius, true);
}

// The sw x sh image at (offset, offset) in `plane` replaced by its 3x3 mean (the mean of the
// neighbours that exist at its edges): pixel noise down by a factor of 3 before the opening,
// whose minimum would otherwise follow the noise's low tail.
void box_blur_3x3(Plane& plane, std::size_t offset, std::size_t sw, std::size_t sh) {
  std::vector<float> blurred(sw * sh);
  for (std::size_t y = 0; y < sh; ++y) {
    for (std::size_t x = 0; x < sw; ++x) {
      float sum = 0.0f;
      int count = 0;
      for (std::size_t ny = y > 0 ? y - 1 : 0; ny <= std::min(y + 1, sh - 1); ++ny) {
        for (std::size_t nx = x > 0 ? x - 1 : 0; nx <= std::min(x + 1, sw - 1); ++nx, ++count) {
          sum += plane.at(nx + offset, ny + offset);
        }
      }
      blurred[y * sw + x] = sum / static_cast<float>(count);
    }
  }
  for (std::size_t y = 0; y < sh; ++y) {
    for (std::size_t x = 0; x < sw; ++x) plane.at(x + offset, y + offset) = blurred[y * sw + x];
  }
}

// Subtracts from v (the ink bright) the background under the ink, clamped at 0. The background
// is the opening of v by
// a square of half the shorter side: any stroke or blob narrower than that is not background,
// while lighting that changes slowly is. A linear gradient in any direction comes out exactly, a
// vignette (a valley in v) and a shadow's soft edge closely, paper grain as its low envelope.
// Computed on v shrunk by an integer factor d (area mean, the shorter side kept at 128..255
// pixels: cheap, and less noisy), smoothed (box_blur_3x3) and padded by the radius with copies of
// its edge pixels (so that a gradient running into an edge is followed to the edge rather than
// levelled off there), then enlarged back bilinearly. An evenly lit image gets its one level
// everywhere, so a clean drawing is prepared as with a single background level.
void subtract_background(std::vector<float>& v, std::size_t w, std::size_t h) {
  const std::size_t d = std::max<std::size_t>(1, std::min(w, h) / 128);
  const std::size_t sw = (w + d - 1) / d, sh = (h + d - 1) / d;
  const std::size_t radius = std::max<std::size_t>(1, std::min(sw, sh) / 4);
  Plane padded{std::vector<float>((sw + 2 * radius) * (sh + 2 * radius)), sw + 2 * radius,
               sh + 2 * radius};
  for (std::size_t sy = 0; sy < sh; ++sy) {
    for (std::size_t sx = 0; sx < sw; ++sx) {
      double sum = 0.0;
      std::size_t count = 0;
      for (std::size_t y = sy * d; y < std::min(h, (sy + 1) * d); ++y) {
        for (std::size_t x = sx * d; x < std::min(w, (sx + 1) * d); ++x, ++count)
          sum += v[y * w + x];
      }
      padded.at(sx + radius, sy + radius) = static_cast<float>(sum / static_cast<double>(count));
    }
  }
  box_blur_3x3(padded, radius, sw, sh);
  for (std::size_t y = 0; y < padded.h; ++y) {
    const std::size_t from_y = std::clamp(y, radius, radius + sh - 1);
    for (std::size_t x = 0; x < padded.w; ++x) {
      const std::size_t from_x = std::clamp(x, radius, radius + sw - 1);
      padded.at(x, y) = padded.at(from_x, from_y);
    }
  }
  open_square(padded, radius);
  // Bilinear between the centres of the small pixels: small pixel (i, j) is centred at full-size
  // ((i + 0.5)·d - 0.5, (j + 0.5)·d - 0.5). The columns' weights are the same on every row.
  struct Tap {
    std::size_t from, to;
    float t;
  };
  const auto taps = [d, radius](std::size_t full, std::size_t small) {
    std::vector<Tap> result(full);
    for (std::size_t i = 0; i < full; ++i) {
      const double f = std::clamp((static_cast<double>(i) + 0.5) / static_cast<double>(d) - 0.5,
                                  0.0, static_cast<double>(small - 1));
      const auto from = static_cast<std::size_t>(f);
      result[i] = {from + radius, std::min(from + 1, small - 1) + radius,
                   static_cast<float>(f - static_cast<double>(from))};
    }
    return result;
  };
  const std::vector<Tap> columns = taps(w, sw), rows = taps(h, sh);
  for (std::size_t y = 0; y < h; ++y) {
    const Tap row = rows[y];
    for (std::size_t x = 0; x < w; ++x) {
      const Tap col = columns[x];
      const float top =
          padded.at(col.from, row.from) * (1 - col.t) + padded.at(col.to, row.from) * col.t;
      const float bottom =
          padded.at(col.from, row.to) * (1 - col.t) + padded.at(col.to, row.to) * col.t;
      float& value = v[y * w + x];
      value = std::max(0.0f, value - (top * (1 - row.t) + bottom * row.t));
    }
  }
}

// The level below which what is left after subtracting the background is paper, not ink (noise,
// grain, JPEG ringing, leftovers of the lighting), from the histogram of the residual in bins of
// 1/8 grey level (two passes, no sorting): Otsu's threshold t (the t that maximises the
// between-class variance ω0·ω1·(μ0 − μ1)²) splits paper from ink; the floor is the paper class's
// median plus 3 · 1.4826 · its median absolute deviation (3 standard deviations for Gaussian
// noise, robust to the ink's soft edges falling into that class), and at most t. On a clean
// drawing the paper is exactly 0, so the floor is 0 and nothing changes.
float noise_floor(const std::vector<float>& residual) {
  // Bins of 1/8 grey level over 0..256 (the residual is at least 0).
  constexpr std::size_t kPerLevel = 8, kBins = 256 * kPerLevel;
  const auto bin_of = [](float r) {
    return std::min(kBins - 1, static_cast<std::size_t>(r * static_cast<float>(kPerLevel)));
  };
  std::vector<double> histogram(kBins, 0.0);
  for (float r : residual) histogram[bin_of(r)] += 1;
  const auto level = [](std::size_t bin) {
    return static_cast<double>(bin) / static_cast<double>(kPerLevel);
  };
  double sum_all = 0.0;
  for (std::size_t i = 0; i < kBins; ++i) sum_all += level(i) * histogram[i];
  const double total = static_cast<double>(residual.size());
  double weight0 = 0.0, sum0 = 0.0, best = -1.0;
  std::size_t threshold = 1;  // class 0, the paper: bins [0, threshold)
  for (std::size_t t = 1; t < kBins; ++t) {
    weight0 += histogram[t - 1];
    sum0 += level(t - 1) * histogram[t - 1];
    const double weight1 = total - weight0;
    if (weight0 == 0.0 || weight1 == 0.0) continue;
    const double mean0 = sum0 / weight0, mean1 = (sum_all - sum0) / weight1;
    const double between = weight0 * weight1 * (mean0 - mean1) * (mean0 - mean1);
    if (between > best) {
      best = between;
      threshold = t;
    }
  }
  // The bin holding the middle of `counts` (first `bins` of them), as a level.
  const auto median_of = [&](const std::vector<double>& counts, std::size_t bins) {
    double all = 0.0;
    for (std::size_t i = 0; i < bins; ++i) all += counts[i];
    double seen = 0.0;
    for (std::size_t i = 0; i < bins; ++i) {
      seen += counts[i];
      if (seen * 2 > all) return level(i);
    }
    return 0.0;
  };
  const double median = median_of(histogram, threshold);
  std::vector<double> deviations(kBins, 0.0);
  for (float r : residual) {
    const std::size_t bin = bin_of(r);
    if (bin < threshold) deviations[bin_of(static_cast<float>(std::abs(level(bin) - median)))] += 1;
  }
  const double spread = 1.4826 * median_of(deviations, kBins);
  return static_cast<float>(std::min(median + 3.0 * spread, level(threshold)));
}

// Ink of every pixel in 0..1. A light border (median of the border pixels above 127: paper)
// means a dark digit, so the image is inverted first, making the ink bright (v). The background
// under it is estimated locally and subtracted (subtract_background), then the noise floor
// (noise_floor) too; what remains is divided by the strongest ink. Throws ImageError when there is
// hardly any ink (less than 32 grey levels above the floor).
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
  const bool invert = border[border.size() / 2] > 127;
  std::vector<float> ink(w * h);
  for (std::size_t i = 0; i < ink.size(); ++i) {
    ink[i] = static_cast<float>(invert ? 255 - image.pixels[i] : image.pixels[i]);
  }
  subtract_background(ink, w, h);
  const float floor = noise_floor(ink);
  float strongest = 0.0f;
  for (float& v : ink) {
    v = std::max(0.0f, v - floor);
    strongest = std::max(strongest, v);
  }
  if (strongest < 32.0f) {
    throw ImageError(name + ": no digit found (the image is nearly uniform)");
  }
  for (float& v : ink) v /= strongest;
  return ink;
}

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
