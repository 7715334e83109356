// What the two paths of the convolution kernels share (src/kernels/conv2d.cpp, im2col for any
// stride; src/kernels/conv2d_shifted.cpp, shifted rows for stride 1): the sizes of a window's
// patch and output plane, and the thread-ordered sum of per-thread gradients.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.hpp"

namespace cnn::kernels::conv2d_detail {

// K = C·kh·kw, the length of one column of the im2col matrix.
inline std::size_t patch_size(const WindowGeometry& g) {
  return g.channels * g.kernel.h * g.kernel.w;
}
// P = OH·OW, the positions of one output plane.
inline std::size_t plane_size(const WindowGeometry& g) {
  return g.out_h() * g.out_w();
}

// dweight = Σ_t partial_t[0, weights), dbias = Σ_t partial_t[weights, weights + biases), where
// partial_t = first + t·stride holds thread t's sums; added in thread order, so a thread count
// always gives the same bits.
void add_partial_gradients(const float* first, std::size_t stride, std::size_t chunks,
                           std::size_t weights, std::size_t biases, float* dweight, float* dbias);

// ---- the shifted-rows path (stride 1), src/kernels/conv2d_shifted.cpp ------------------------
// Whether a convolution takes it: stride 1 and a patch small enough for the offset table.
bool uses_shifted_rows(const WindowGeometry& g);
std::size_t shifted_workspace_size(std::size_t batch, std::size_t D, const WindowGeometry& g);
// conv2d_forward and conv2d_backward (kernels.hpp) for a geometry that uses_shifted_rows.
void shifted_forward(const float* x, const float* weight, const float* bias, float* y,
                     float* workspace, std::size_t batch, std::size_t D, const WindowGeometry& g);
void shifted_backward(const float* x, const float* dy, const float* weight, float* dweight,
                      float* dbias, float* dx, float* workspace, std::size_t batch, std::size_t D,
                      const WindowGeometry& g);

// yᵀ[P, D] = y[D, P], and back with a bias added (bias may be null): D a whole number of
// vectors. Shared by the transposed forms of both paths above and the Winograd path below.
void transpose_planes(const float* y, std::size_t D, std::size_t P, float* yt);
void transpose_planes_back(const float* yt, const float* bias, std::size_t D, std::size_t P,
                           float* y);

// ---- Winograd F(2x2, 3x3), src/kernels/conv2d_winograd.cpp ----------------------------------
// For geometries that conv_algorithm_applies(ConvAlgorithm::winograd, ...) accepts (window.hpp).
std::size_t winograd_workspace_size(std::size_t batch, std::size_t D, const WindowGeometry& g);
// y = conv(x) + bias, as conv2d_forward.
void winograd_forward(const float* x, const float* weight, const float* bias, float* y,
                      float* workspace, std::size_t batch, std::size_t D, const WindowGeometry& g);
// dx = the gradient of conv2d_forward's y with respect to x, given dy: the forward product of dy
// (padded by 2 − p) with the weights flipped and their channels exchanged.
void winograd_backward_data(const float* dy, const float* weight, float* dx, float* workspace,
                            std::size_t batch, std::size_t D, const WindowGeometry& g);
// dweight and dbias of conv2d_backward: the forward's transforms run backwards (F(3x3, 2x2)), the
// sums over tiles and images in 16 products [D, tiles]·[tiles, C].
void winograd_backward_weights(const float* x, const float* dy, float* dweight, float* dbias,
                               float* workspace, std::size_t batch, std::size_t D,
                               const WindowGeometry& g);

}  // namespace cnn::kernels::conv2d_detail
