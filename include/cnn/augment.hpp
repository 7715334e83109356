// Data augmentation for training: each image of a batch moved by its own random affine map
// (translation, rotation, scale), resampled bilinearly, zero outside the image. Applied to the
// float batch after the byte-to-float conversion; the same seed gives the same maps.
//
// Per image, with c the image centre and uniform draws
//   shift t ∈ [−translate, translate]² pixels, angle θ ∈ [−rotate, rotate] degrees,
//   factor s ∈ [1 − scale, 1 + scale]:
//   output(p) = input( R(−θ)·(p − c − t)/s + c )      (the image scaled and turned about c,
//                                                       then shifted by t)
#pragma once

#include <cstdint>
#include <vector>

#include "cnn/rng.hpp"
#include "cnn/tensor.hpp"

namespace cnn {

struct AugmentOptions {
  double translate = 0.0;  // pixels
  double rotate = 0.0;     // degrees
  double scale = 0.0;      // relative, < 1
  bool enabled() const { return translate > 0.0 || rotate > 0.0 || scale > 0.0; }
};

class Augmenter {
 public:
  // Throws std::invalid_argument for negative amounts or scale ≥ 1.
  Augmenter(const AugmentOptions& options, std::uint64_t seed);

  // Replaces every image of x [N, C, H, W] by its randomly moved copy. Allocates only when the
  // batch is larger than any before.
  void apply(Tensor& x);
  const AugmentOptions& options() const { return options_; }
  // The generator of the moves, for checkpoints.
  Rng& random_stream() { return rng_; }

 private:
  AugmentOptions options_;
  Rng rng_;
  Tensor scratch_;
  std::vector<float> affine_;
};

}  // namespace cnn
