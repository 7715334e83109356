#include "cnn/data/augment.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>
#include <utility>

#include "cnn/core/instruction_set.hpp"
#include "cnn/core/parallel.hpp"
#include "kernels/kernels.hpp"

namespace cnn {

// The rectangle of random erasing (see the header), or height 0 for none; draws from rng in a
// fixed order: the coin, then area, ratio, top, left and the fill's seed.
Augmenter::Erasure Augmenter::draw_erasure(Rng& rng, std::size_t height, std::size_t width) const {
  Erasure box;
  if (!(rng.uniform() < options_.erase)) return box;
  const double area = (0.02 + 0.38 * rng.uniform()) * static_cast<double>(height * width);
  const double log_ratio = std::log(0.3) + (std::log(1.0 / 0.3) - std::log(0.3)) * rng.uniform();
  const double ratio = std::exp(log_ratio);
  const auto side = [](double value, std::size_t limit) {
    return std::clamp<std::size_t>(static_cast<std::size_t>(std::lround(value)), 1, limit);
  };
  box.height = side(std::sqrt(area * ratio), height);
  box.width = side(std::sqrt(area / ratio), width);
  const auto place = [&rng](std::size_t room) {
    return std::min(room, static_cast<std::size_t>(rng.uniform() * static_cast<double>(room + 1)));
  };
  box.top = place(height - box.height);
  box.left = place(width - box.width);
  box.fill_seed = rng.next_u64();
  return box;
}

Augmenter::Augmenter(const AugmentOptions& options) : options_(options) {
  require_cpu_support();  // before an augmentation can run a kernel (instruction_set.hpp)
  if (!(options.translate >= 0.0) || !(options.rotate >= 0.0 && options.rotate <= 180.0) ||
      !(options.scale >= 0.0 && options.scale < 1.0)) {
    throw std::invalid_argument(
        "augmentation: translate must be >= 0, rotate in [0, 180] degrees, scale in [0, 1)");
  }
  if (!(options.elastic_alpha >= 0.0 && options.elastic_alpha <= 1000.0) ||
      !(options.elastic_sigma >= 0.5 && options.elastic_sigma <= 20.0)) {
    throw std::invalid_argument(
        "augmentation: elastic alpha must be in [0, 1000] pixels, sigma in [0.5, 20] pixels");
  }
  if (!(options.erase >= 0.0 && options.erase <= 1.0)) {
    throw std::invalid_argument("augmentation: the erasing probability must be in [0, 1]");
  }
  if (options.elastic_alpha > 0.0) {
    // The normalised 1-D Gaussian, cut at 3σ; rows then columns make the 2-D one.
    const auto radius = static_cast<std::size_t>(std::ceil(3.0 * options.elastic_sigma));
    taps_.resize(2 * radius + 1);
    double total = 0.0;
    for (std::size_t k = 0; k < taps_.size(); ++k) {
      const double d = static_cast<double>(k) - static_cast<double>(radius);
      total += std::exp(-d * d / (2.0 * options.elastic_sigma * options.elastic_sigma));
    }
    for (std::size_t k = 0; k < taps_.size(); ++k) {
      const double d = static_cast<double>(k) - static_cast<double>(radius);
      taps_[k] = static_cast<float>(
          std::exp(-d * d / (2.0 * options.elastic_sigma * options.elastic_sigma)) / total);
    }
  }
}

void Augmenter::apply(Tensor& x, std::span<const std::uint64_t> image_keys) {
  if (x.shape().rank() != 4) {
    throw ShapeError("Augmenter: expected a batch [N, C, H, W], got " + x.shape().to_string());
  }
  const std::size_t batch = x.dim(0), height = x.dim(2), width = x.dim(3);
  if (image_keys.size() != batch) {
    throw std::invalid_argument("Augmenter: " + std::to_string(image_keys.size()) +
                                " image keys for a batch of " + std::to_string(batch) +
                                " images; each image needs one");
  }
  const bool elastic = options_.elastic_alpha > 0.0;
  const bool erase = options_.erase > 0.0;
  affine_.resize(6 * batch);  // no allocation once the largest batch has been seen
  noise_seeds_.resize(elastic ? batch : 0);
  erasures_.resize(erase ? batch : 0);
  const double cx = 0.5 * static_cast<double>(width - 1),
               cy = 0.5 * static_cast<double>(height - 1);
  for (std::size_t n = 0; n < batch; ++n) {
    // Image n's own generator, drawn in a fixed order, so the maps depend on its key alone.
    Rng rng(mix_key(image_keys[n], kAugmentationSalt));
    const auto draw = [&](double amount) { return amount * (2.0 * rng.uniform() - 1.0); };
    const double tx = draw(options_.translate), ty = draw(options_.translate);
    const double angle = draw(options_.rotate) * std::numbers::pi / 180.0;
    const double s = 1.0 + draw(options_.scale);
    const std::uint64_t noise_seed = elastic ? rng.next_u64() : 0;
    const bool mirror = options_.flip && rng.uniform() < 0.5;
    // The inverse map (output pixel → input position), see the header; the mirror F negates the
    // coefficients of the column.
    const double f = mirror ? -1.0 : 1.0;
    const double a = f * std::cos(angle) / s, b = std::sin(angle) / s;
    const double d = -f * std::sin(angle) / s, e = std::cos(angle) / s;
    float* t = affine_.data() + 6 * n;
    t[0] = static_cast<float>(a);
    t[1] = static_cast<float>(b);
    t[2] = static_cast<float>(cx - a * (cx + tx) - b * (cy + ty));
    t[3] = static_cast<float>(d);
    t[4] = static_cast<float>(e);
    t[5] = static_cast<float>(cy - d * (cx + tx) - e * (cy + ty));
    if (elastic) noise_seeds_[n] = noise_seed;
    if (erase) erasures_[n] = draw_erasure(rng, height, width);
  }
  const float* displacement = nullptr;
  if (elastic) {
    // Each image's noise comes from a generator seeded by the image's own generator above, so
    // the noise can be drawn in parallel and still not depend on the thread count.
    const Shape fields{batch, 2, height, width};
    noise_.resize(fields);
    field_.resize(fields);
    smooth_scratch_.resize(fields);
    const std::size_t per_image = 2 * height * width;
    parallel_for(batch, [&](std::size_t, std::size_t begin, std::size_t end) {
      for (std::size_t n = begin; n < end; ++n) {
        Rng noise(noise_seeds_[n]);
        float* u = noise_.data() + n * per_image;
        // Two draws of 24 bits from each 64-bit word: uniform on a grid of 2^-23 in [−1, 1).
        for (std::size_t k = 0; k < per_image; k += 2) {
          const std::uint64_t word = noise.next_u64();
          u[k] = static_cast<float>(word >> 40) * 0x1.0p-23f - 1.0f;
          if (k + 1 < per_image)
            u[k + 1] = static_cast<float>((word >> 8) & 0xffffff) * 0x1.0p-23f - 1.0f;
        }
      }
    });
    kernels::smooth_planes(noise_.data(), field_.data(), smooth_scratch_.data(), taps_.data(),
                           taps_.size() / 2, static_cast<float>(options_.elastic_alpha), 2 * batch,
                           height, width);
    displacement = field_.data();
  }
  if (options_.warps()) {
    scratch_.resize(x.shape());
    kernels::affine_warp(x.data(), scratch_.data(), affine_.data(), displacement, batch, x.dim(1),
                         height, width);
    std::swap(x, scratch_);
  }
  if (erase) {
    const std::size_t channels = x.dim(1), plane = height * width;
    parallel_for(batch, [&](std::size_t, std::size_t begin, std::size_t end) {
      for (std::size_t n = begin; n < end; ++n) {
        const Erasure& box = erasures_[n];
        if (box.height == 0) continue;
        float* image = x.data() + n * channels * plane;
        kernels::erase_rectangle(image, channels, height, width, box.top, box.left, box.height,
                                 box.width, box.fill_seed);
      }
    });
  }
}

}  // namespace cnn
