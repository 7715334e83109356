// Data augmentation for training: each image of a batch moved by its own random affine map
// (translation, rotation, scale) and, optionally, bent by a random elastic distortion; resampled
// bilinearly, zero outside the image. Applied to the float batch after the byte-to-float
// conversion. Image n's draws come from Rng(mix_key(keys[n], kAugmentationSalt)) alone, so its
// move depends on its key (image_key(seed, epoch, dataset index) in training), not on the batch
// around it.
//
// Per image, with c the image centre and uniform draws, in this order (then, with elastic
// distortion, one word that seeds the image's noise generator)
//   shift t ∈ [−translate, translate]² pixels, angle θ ∈ [−rotate, rotate] degrees,
//   factor s ∈ [1 − scale, 1 + scale]:
//   output(p) = input( R(−θ)·(p − c − t)/s + c + Δ(p) )   (the image scaled and turned about c,
//                                                           then shifted by t)
// where Δ = 0 without elastic distortion, else (Simard, Steinkraus and Platt 2003, "Best
// practices for convolutional neural networks applied to visual document analysis")
//   Δ = α · (G_σ ⊛ U),  U: one uniform draw in [−1, 1] per pixel and axis,
//   G_σ: the normalised Gaussian of standard deviation σ pixels (cut at 3σ),
// a smooth random field of displacements: small σ gives rough, large σ nearly rigid moves.
//
// Then, when asked, in this order after the draws above (so that the maps of the affine and
// elastic settings alone stay what they were):
//   flip (flip = true): with probability 1/2 the image is mirrored left to right, the mirror
//     taken first: output(p) = input( R(−θ)·F·(p − c − t)/s + c + Δ(p) ), F = diag(−1, 1)
//     (F·(x, y) = (−x, y) about the centre; exact, as the mirrored positions are whole pixels);
//   random erasing (Zhong et al. 2017, "Random Erasing Data Augmentation"), with probability
//     `erase`: a rectangle of area a·H·W, a ∈ [0.02, 0.4], and aspect ratio (height / width) r,
//     log r ∈ [log 0.3, log(1/0.3)], height round(√(a·H·W·r)) and width round(√(a·H·W/r)), each
//     cut to the image's, at a uniform place inside the image, filled with values drawn
//     uniformly between the image's darkest and brightest value (after the warp, over all its
//     channels; each pixel and channel its own draw), so that the fill needs no knowledge of
//     the input's normalisation.
//
// Colour: all C channels of an image move by the same map (the draws above are made once per
// image, never per channel, and the same field Δ bends every channel), so a pixel's colour
// stays together; the channels of a C-channel image move exactly as C one-channel images with
// the same key would.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "cnn/core/rng.hpp"
#include "cnn/core/tensor.hpp"

namespace cnn {

struct AugmentOptions {
  double translate = 0.0;      // pixels
  double rotate = 0.0;         // degrees
  double scale = 0.0;          // relative, < 1
  double elastic_alpha = 0.0;  // pixels: strength α of the elastic distortion; 0 = none
  double elastic_sigma = 4.0;  // pixels: smoothness σ of the elastic distortion
  bool flip = false;           // mirror left to right with probability 1/2
  double erase = 0.0;          // probability of random erasing, in [0, 1]
  bool warps() const {
    return translate > 0.0 || rotate > 0.0 || scale > 0.0 || elastic_alpha > 0.0 || flip;
  }
  bool enabled() const { return warps() || erase > 0.0; }
};

class Augmenter {
 public:
  // Throws std::invalid_argument for negative amounts, scale ≥ 1, α > 1000, σ outside
  // [0.5, 20] or an erasing probability outside [0, 1].
  explicit Augmenter(const AugmentOptions& options);

  // Replaces every image of x [N, C, H, W] by its randomly moved copy, image n (all its C
  // channels alike) moved as its key image_keys[n] says; std::invalid_argument unless there are N
  // keys. Allocates only when the batch is larger than any before.
  void apply(Tensor& x, std::span<const std::uint64_t> image_keys);
  const AugmentOptions& options() const { return options_; }

 private:
  AugmentOptions options_;
  Tensor scratch_;
  std::vector<float> affine_;
  // Random erasing: per image, whether and where (top, left, height, width) and its fill's seed.
  struct Erasure {
    std::size_t top = 0, left = 0, height = 0, width = 0;
    std::uint64_t fill_seed = 0;
  };
  std::vector<Erasure> erasures_;
  Erasure draw_erasure(Rng& rng, std::size_t height, std::size_t width) const;
  // Elastic distortion: Gaussian taps, per-image generator seeds, noise, field, smoothing scratch.
  std::vector<float> taps_;
  std::vector<std::uint64_t> noise_seeds_;
  Tensor noise_, field_, smooth_scratch_;
};

}  // namespace cnn
