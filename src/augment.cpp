#include "cnn/augment.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <utility>

#include "cnn/kernels.hpp"

namespace cnn {

Augmenter::Augmenter(const AugmentOptions& options, std::uint64_t seed)
    : options_(options), rng_(seed) {
  if (!(options.translate >= 0.0) || !(options.rotate >= 0.0 && options.rotate <= 180.0) ||
      !(options.scale >= 0.0 && options.scale < 1.0)) {
    throw std::invalid_argument(
        "augmentation: translate must be >= 0, rotate in [0, 180] degrees, scale in [0, 1)");
  }
}

void Augmenter::apply(Tensor& x) {
  if (x.shape().rank() != 4) {
    throw ShapeError("Augmenter: expected a batch [N, C, H, W], got " + x.shape().to_string());
  }
  const std::size_t batch = x.dim(0), height = x.dim(2), width = x.dim(3);
  affine_.resize(6 * batch);  // no allocation once the largest batch has been seen
  const double cx = 0.5 * static_cast<double>(width - 1),
               cy = 0.5 * static_cast<double>(height - 1);
  const auto draw = [&](double amount) { return amount * (2.0 * rng_.uniform() - 1.0); };
  for (std::size_t n = 0; n < batch; ++n) {
    // Drawn in a fixed order, one image after another, so the maps do not depend on threads.
    const double tx = draw(options_.translate), ty = draw(options_.translate);
    const double angle = draw(options_.rotate) * std::numbers::pi / 180.0;
    const double s = 1.0 + draw(options_.scale);
    // The inverse map (output pixel → input position), see the header.
    const double a = std::cos(angle) / s, b = std::sin(angle) / s;
    const double d = -std::sin(angle) / s, e = std::cos(angle) / s;
    float* t = affine_.data() + 6 * n;
    t[0] = static_cast<float>(a);
    t[1] = static_cast<float>(b);
    t[2] = static_cast<float>(cx - a * (cx + tx) - b * (cy + ty));
    t[3] = static_cast<float>(d);
    t[4] = static_cast<float>(e);
    t[5] = static_cast<float>(cy - d * (cx + tx) - e * (cy + ty));
  }
  scratch_.resize(x.shape());
  kernels::affine_warp(x.data(), scratch_.data(), affine_.data(), batch, x.dim(1), height, width);
  std::swap(x, scratch_);
}

}  // namespace cnn
