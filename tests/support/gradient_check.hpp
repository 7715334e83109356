// Central-difference gradient checking, shared by every layer's test (as Caffe's GradientChecker).
//
// For a layer y = f(x; θ) the checked scalar is L = Σ_i r_i · y_i with a fixed random r, so that
// dL/dy = r and every output element takes part. Each input and parameter element v is moved by
// ±h and (L(v+h) − L(v−h)) / 2h is compared with the analytic gradient.
//
// Tolerance: the layers compute in float32 (ε ≈ 6e-8). L sums a few hundred products of size
// O(1), so its rounding error is about 1e-5; dividing by 2h = 2e-2 gives about 5e-4 of noise in
// the numeric gradient. Convolution, linear layers and the loss are smooth (linear or nearly so),
// so the truncation error of central differences, O(h²), stays below that. We accept
// |numeric − analytic| ≤ atol + rtol·|analytic| with atol 2e-3 and rtol 1e-2; a wrong index or a
// missing term is off by O(0.1–1) and fails. ReLU and max-pool are only piecewise smooth: their
// tests draw inputs at least 2h away from any kink or tie.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "cnn/nn/layer.hpp"
#include "cnn/nn/sequential.hpp"

namespace cnn::testing {

struct GradCheckOptions {
  double step = 1e-2;
  double atol = 2e-3;
  double rtol = 1e-2;
};

// Compares `analytic` with central differences of loss() with respect to every element of value.
::testing::AssertionResult compare_gradient(const std::string& name, Tensor& value,
                                            const Tensor& analytic,
                                            const std::function<double()>& loss,
                                            const GradCheckOptions& options = {});

// L = Σ_i r_i · y_i for y = layer(x), the scalar whose gradient the checks compare; probe is
// scratch for y.
double projected_loss(Layer& layer, const Tensor& x, const Tensor& r, Tensor& probe);

// Checks dL/dx and every parameter gradient of layer at input x.
void check_layer_gradients(Layer& layer, Tensor x, std::uint64_t seed = 7,
                           const GradCheckOptions& options = {});

// Tensor of the given shape with values uniform in [low, high).
Tensor random_tensor(const Shape& shape, std::uint64_t seed, float low = -1.0f, float high = 1.0f);

}  // namespace cnn::testing
