// Dropout (Srivastava et al. 2014), inverted: in training each value is kept with probability
// 1 − p and scaled by 1/(1 − p), so inference is the identity.
//
//   training:  mask_i = 1/(1 − p) with probability 1 − p, else 0;  y = x · mask;  dx = dy · mask
//   inference: y = x
//
// The mask comes from the layer's own generator, seeded by initialize() from the model's seed,
// so a run is reproducible.
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
  Rng* random_stream() override { return &rng_; }

  double probability() const { return probability_; }
  // Restarts the mask generator (tests use it to draw the same mask twice).
  void reseed(std::uint64_t seed) { rng_ = Rng(seed); }

 private:
  double probability_;
  Rng rng_{0};
  std::vector<std::uint64_t> words_;  // the random words of the last training mask
  Tensor mask_;
};

}  // namespace cnn
