// Dropout (Srivastava et al. 2014), inverted: in training each value is kept with probability
// 1 − p and scaled by 1/(1 − p), so inference is the identity.
//
//   training:  mask_i = 1/(1 − p) with probability 1 − p, else 0;  y = x · mask;  dx = dy · mask
//   inference: y = x
//
// Image n's part of the mask comes from Rng(keys[n]) alone, the keys given by set_image_keys
// (Sequential::forward passes mix_key(image key, layer_salt(layer))): ceil(E/2) words for an
// image of E elements, turned into its mask by kernels::dropout_mask. So an image's mask depends
// on its key and the layer, not on the batch around it, and a run is reproducible.
#pragma once

#include <cstdint>
#include <vector>

#include "cnn/nn/layer.hpp"

namespace cnn {

class Dropout : public Layer {
 public:
  explicit Dropout(double probability = 0.5);
  std::string kind() const override { return "dropout"; }
  InitRole init_role() const override { return InitRole::looked_through(); }
  std::string describe() const override;
  Shape output_shape(const Shape& input) const override { return input; }
  void forward(const Tensor& x, Tensor& y, bool training) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  void initialize(Rng& rng, double gain) override;
  bool draws_random_numbers() const override { return true; }
  // The keys stay until the next call: training forwards in between draw the same masks (the
  // gradient check relies on it). A training forward of N images with p > 0 needs N keys.
  void set_image_keys(std::span<const std::uint64_t> keys) override;

  double probability() const { return probability_; }

 private:
  double probability_;
  std::vector<std::uint64_t> image_keys_;
  std::vector<std::uint64_t> words_;  // one image's random words
  Tensor mask_;
};

}  // namespace cnn
