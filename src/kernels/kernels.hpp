// The arithmetic of every layer, as free functions over flat float buffers (NCHW, contiguous).
//
// Layers call only these functions; this CPU implementation lives in src/kernels/. A second
// backend (CUDA, say) implements the same declarations over device buffers. Each function states
// the shapes of its buffers and the formula it computes. Gradients of parameters are written, not
// accumulated; the caller's dL/dy already carries the 1/N batch average.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cnn/core/window.hpp"

namespace cnn {

namespace kernels {

// ---- matrix products (row-major, leading dimensions as in BLAS) ------------------------------
// C[M,N] = A[M,K] · B[K,N] (+ C when accumulate).
void gemm_nn(std::size_t M, std::size_t N, std::size_t K, const float* A, std::size_t lda,
             const float* B, std::size_t ldb, float* C, std::size_t ldc, bool accumulate);
// C[M,N] = A[M,K] · B[N,K]ᵀ (+ C when accumulate).
void gemm_nt(std::size_t M, std::size_t N, std::size_t K, const float* A, std::size_t lda,
             const float* B, std::size_t ldb, float* C, std::size_t ldc, bool accumulate);
// C[M,N] = A[K,M]ᵀ · B[K,N] (+ C when accumulate).
void gemm_tn(std::size_t M, std::size_t N, std::size_t K, const float* A, std::size_t lda,
             const float* B, std::size_t ldb, float* C, std::size_t ldc, bool accumulate);

// ---- convolution ----------------------------------------------------------------------------
// Weights are [D, C, kh, kw] (PyTorch's layout; the design writes the same numbers as W[m,n,c,d]).
//
// im2col: for one image x[C,H,W], columns[(c,m,n), (i,j)] = x[c, i·s+m−p, j·s+n−p] (0 outside),
// a [C·kh·kw, OH·OW] matrix, so that the convolution becomes one matrix product.
void im2col(const float* x, const WindowGeometry& g, float* columns);
// col2im: the adjoint of im2col; adds columns back into dx[C,H,W] (dx must be zeroed first).
// Positions covered by several windows receive the sum, and padding positions are dropped.
void col2im(const float* columns, const WindowGeometry& g, float* dx);

// Forward, z[n,d,i,j] = Σ_c Σ_m Σ_n W[d,c,m,n] · x[n, c, i·s+m−p, j·s+n−p] + b[d]:
//   x[N,C,H,W], weight[D,C,kh,kw], bias[D], y[N,D,OH,OW].
//   saved: conv2d_saved_size(N, g) floats that backward reads (each image's im2col matrix when
//   the stride is not 1; nothing otherwise). workspace: conv2d_workspace_size(N, D, g) floats.
//   algorithm: ConvAlgorithm::winograd computes y through Winograd's F(2x2, 3x3), where
//   conv_algorithm_applies (window.hpp) says it can; otherwise std::invalid_argument.
void conv2d_forward(const float* x, const float* weight, const float* bias, float* y, float* saved,
                    float* workspace, std::size_t batch, std::size_t out_channels,
                    const WindowGeometry& g, ConvAlgorithm algorithm = ConvAlgorithm::direct);
// Backward, with x and saved from the forward pass:
//   dW[d,(c,m,n)] = Σ_n Σ_(i,j) dy[n,d,i,j] · x[n, c, i·s+m−p, j·s+n−p]
//                   (the correlation of x with dy)
//   db[d]         = Σ_n Σ_(i,j) dy[n,d,i,j]
//   dx            = col2im(Wᵀ · dy), which equals the design's full correlation of the dilated,
//                   (k−1)-padded dy with the 180°-rotated, channel-swapped kernel, padding removed
//   dx may be null (no input gradient needed).
//   algorithm: with ConvAlgorithm::winograd, dx (the forward product of dy, padded by 2 − p,
//   with the flipped kernel) through Winograd's F(2x2, 3x3), and dW through its transpose,
//   F(3x3, 2x2): the same sums through other roundings.
void conv2d_backward(const float* x, const float* dy, const float* saved, const float* weight,
                     float* dweight, float* dbias, float* dx, float* workspace, std::size_t batch,
                     std::size_t out_channels, const WindowGeometry& g,
                     ConvAlgorithm algorithm = ConvAlgorithm::direct);
std::size_t conv2d_saved_size(std::size_t batch, const WindowGeometry& g);
std::size_t conv2d_workspace_size(std::size_t batch, std::size_t out_channels,
                                  const WindowGeometry& g,
                                  ConvAlgorithm algorithm = ConvAlgorithm::direct);

// ---- max pooling ----------------------------------------------------------------------------
// y[n,c,i,j] = max over the window i·s−p ≤ a < i·s−p+k, j·s−p ≤ b < j·s−p+k of x[n,c,a,b].
// Padding positions never win (they act as −∞, as in PyTorch); padding must be at most half the
// window, so every window overlaps the image. argmax[n,c,i,j] receives the flat
// index a·W+b of the winner within its channel plane; the first maximum wins ties.
//   x[N,C,H,W], y[N,C,OH,OW], argmax[N,C,OH,OW].
void max_pool2d_forward(const float* x, float* y, std::int32_t* argmax, std::size_t batch,
                        const WindowGeometry& g);
// dx[n,c,a,b] = Σ over windows whose arg-max is (a,b) of dy[n,c,i,j]; overlapping windows add up.
void max_pool2d_backward(const float* dy, const std::int32_t* argmax, float* dx, std::size_t batch,
                         const WindowGeometry& g);
// A ReLU and the max pooling after it in one pass, without relu(x) stored (Sequential fuses the
// two in training):
//   forward:  y = max_pool(relu(x)), relu(v) = v > 0 ? v : 0, with argmax as max_pool2d_forward's
//             on relu(x);
//   backward: dx[n,c,a,b] = Σ over windows whose arg-max is (a,b) and whose y > 0 of dy[n,c,i,j].
// The results are those of relu_forward then max_pool2d_forward, and of max_pool2d_backward then
// relu_backward, bit for bit (arg-max, ties, NaN and the sign of zeros included): x at the
// arg-max is > 0 exactly when its window's y is.
//   x[N,C,H,W], y[N,C,OH,OW], argmax[N,C,OH,OW], dy[N,C,OH,OW], dx[N,C,H,W].
void relu_max_pool2d_forward(const float* x, float* y, std::int32_t* argmax, std::size_t batch,
                             const WindowGeometry& g);
void relu_max_pool2d_backward(const float* dy, const float* y, const std::int32_t* argmax,
                              float* dx, std::size_t batch, const WindowGeometry& g);

// ---- fully connected ------------------------------------------------------------------------
// y = x·Wᵀ + b with x[N,I], weight[O,I] (PyTorch's layout, the transpose of the design's W),
// bias[O], y[N,O].
void linear_forward(const float* x, const float* weight, const float* bias, float* y,
                    std::size_t batch, std::size_t in, std::size_t out);
// dW = dyᵀ·x [O,I], db = Σ_n dy [O], dx = dy·W [N,I] (dx may be null).
void linear_backward(const float* x, const float* weight, const float* dy, float* dweight,
                     float* dbias, float* dx, std::size_t batch, std::size_t in, std::size_t out);

// ---- activations ----------------------------------------------------------------------------
// y = max(0, x)
void relu_forward(const float* x, float* y, std::size_t count);
// dx = dy where x > 0, else 0
void relu_backward(const float* x, const float* dy, float* dx, std::size_t count);

// ---- loss -----------------------------------------------------------------------------------
// Softmax with max shift, a = exp(z − max z) / Σ exp(z − max z), and cross-entropy against the
// target q = (1 − ε)·onehot(label) + ε/K (label smoothing ε = smoothing in [0, 1); 0: the plain
// one-hot target): L = −(1/M) Σ_n Σ_k q[n,k] log a[n,k]. Writes dlogits = (a − q) / M and
// returns L.
//   logits[N,K], labels[N] (each < K), dlogits[N,K] (may be null); M = mean_over > 0: N itself,
//   or the global batch of which these N rows are one process's share.
double softmax_cross_entropy(const float* logits, const std::int32_t* labels, float* dlogits,
                             std::size_t batch, std::size_t classes, std::size_t mean_over,
                             double smoothing = 0.0);
// Softmax alone, for the probabilities of predict and eval, with the same max shift:
//   probs[n,k] = exp(z[n,k] − max_j z[n,j]) / Σ_j exp(z[n,j] − max_j z[n,j])   (sum in double)
//   logits[N,K], probs[N,K].
void softmax(const float* logits, float* probs, std::size_t batch, std::size_t classes);

// ---- optimizer ------------------------------------------------------------------------------
// The design's momentum step for one parameter: v = γ·v + lr_t·g; w −= v.
void sgd_momentum_step(float* weight, float* velocity, const float* grad, std::size_t count,
                       float lr, float momentum);

// ---- checks ---------------------------------------------------------------------------------
// True when every value of x[count] is finite (no NaN, no infinity).
bool all_finite(const float* x, std::size_t count);

// ---- more activations -----------------------------------------------------------------------
// y = tanh(x); backward from the output: dx = dy · (1 − y²)
void tanh_forward(const float* x, float* y, std::size_t count);
void tanh_backward(const float* y, const float* dy, float* dx, std::size_t count);
// y = 1 / (1 + exp(−x)); backward from the output: dx = dy · y · (1 − y)
void sigmoid_forward(const float* x, float* y, std::size_t count);
void sigmoid_backward(const float* y, const float* dy, float* dx, std::size_t count);
// y = x where x > 0, else slope·x; dx = dy where x > 0, else slope·dy
void leaky_relu_forward(const float* x, float* y, std::size_t count, float slope);
void leaky_relu_backward(const float* x, const float* dy, float* dx, std::size_t count,
                         float slope);
// y = x · mask (dropout with the mask of dropout_mask); also dx = dy · mask.
void multiply(const float* x, const float* mask, float* y, std::size_t count);
// Dropout's mask from the layer's random 64-bit words, two elements per word: element i reads
// the 24-bit uniform u = bits 40..63 of words[i/2] when i is even, bits 8..31 when i is odd, and
//   mask[i] = 1/(1−p) when u ≥ floor(p·2²⁴) (kept, with probability 1−p), else 0.
//   words[ceil(count/2)], mask[count]; p in [0, 1).
void dropout_mask(const std::uint64_t* words, float* mask, std::size_t count, double probability);
// y = x (Flatten's forward and backward: the memory order does not change).
void copy(const float* x, float* y, std::size_t count);

// ---- input conversion (Normalization::apply) --------------------------------------------------
// count bytes b to floats x, each by its own correctly rounded operations (so every vector width
// gives the same bits):
//   bytes_to_floats:          x = b
//   bytes_to_unit_floats:     x = b / 255 (the division, not a multiplication by 1/255)
//   bytes_to_standard_floats: x = (b / 255 − mean) / stddev
void bytes_to_floats(const std::uint8_t* bytes, float* x, std::size_t count);
void bytes_to_unit_floats(const std::uint8_t* bytes, float* x, std::size_t count);
void bytes_to_standard_floats(const std::uint8_t* bytes, float* x, std::size_t count, float mean,
                              float stddev);

// ---- average pooling ------------------------------------------------------------------------
// y[n,c,i,j] = (1/(kh·kw)) Σ over the window of x[n,c,a,b], padding counted as zeros (PyTorch's
// count_include_pad=True). x[N,C,H,W], y[N,C,OH,OW].
void avg_pool2d_forward(const float* x, float* y, std::size_t batch, const WindowGeometry& g);
// dx[n,c,a,b] = Σ over windows containing (a,b) of dy[n,c,i,j] / (kh·kw).
void avg_pool2d_backward(const float* dy, float* dx, std::size_t batch, const WindowGeometry& g);
// Global average pooling: y[n,c] = (1/(H·W)) Σ_(a,b) x[n,c,a,b]; dx[n,c,a,b] = dy[n,c] / (H·W).
void global_avg_pool_forward(const float* x, float* y, std::size_t planes, std::size_t plane_size);
void global_avg_pool_backward(const float* dy, float* dx, std::size_t planes,
                              std::size_t plane_size);

// ---- batch normalisation --------------------------------------------------------------------
// x is [N, C, S] (S = H·W for 2-D inputs, 1 for [N, C]). Training mode, per channel c over the
// M = N·S values:
//   μ = (1/M) Σ x,  σ² = (1/M) Σ (x − μ)²,  x̂ = (x − μ) / sqrt(σ² + ε),  y = γ·x̂ + β
//   running_mean = (1 − m)·running_mean + m·μ, running_var = (1 − m)·running_var + m·σ²·M/(M−1)
// (PyTorch's update, unbiased variance in the running estimate). mean[C] and inv_std[C] receive
// μ and 1/sqrt(σ² + ε) for backward.
void batch_norm_forward_train(const float* x, const float* gamma, const float* beta, float* y,
                              float* mean, float* inv_std, float* running_mean, float* running_var,
                              std::size_t batch, std::size_t channels, std::size_t spatial,
                              float epsilon, float momentum);
// Inference: y = γ·(x − running_mean) / sqrt(running_var + ε) + β.
void batch_norm_forward_inference(const float* x, const float* gamma, const float* beta, float* y,
                                  const float* running_mean, const float* running_var,
                                  std::size_t batch, std::size_t channels, std::size_t spatial,
                                  float epsilon);
// Backward of the training mode: dγ = Σ dy·x̂, dβ = Σ dy,
//   dx = (γ·inv_std / M) · (M·dy − dβ − x̂·dγ).   dx may be null.
void batch_norm_backward(const float* x, const float* dy, const float* gamma, const float* mean,
                         const float* inv_std, float* dgamma, float* dbeta, float* dx,
                         std::size_t batch, std::size_t channels, std::size_t spatial);

// The same passes split where a data-parallel run sums over every process's share of the batch
// (synchronised batch norm): count = M over all processes, the sums reduced in between.
//   batch_norm_sums:     sums[c] = Σ x                          (this process's values)
//   batch_norm_squares:  squares[c] = Σ (x − μ[c])²             (μ: the global mean)
//   batch_norm_normalize: σ² = squares/count, then y, mean, inv_std and the running statistics
//                        as batch_norm_forward_train.
void batch_norm_sums(const float* x, double* sums, std::size_t batch, std::size_t channels,
                     std::size_t spatial);
void batch_norm_squares(const float* x, const double* mu, double* squares, std::size_t batch,
                        std::size_t channels, std::size_t spatial);
void batch_norm_normalize(const float* x, const float* gamma, const float* beta, float* y,
                          const double* mu, const double* squares, std::size_t count, float* mean,
                          float* inv_std, float* running_mean, float* running_var,
                          std::size_t batch, std::size_t channels, std::size_t spatial,
                          float epsilon, float momentum);
//   batch_norm_backward_sums:  sum_dy[c] = Σ dy, sum_dy_xhat[c] = Σ dy·x̂   (this process's)
//   batch_norm_backward_input: dx = (γ·inv_std / count)·(count·dy − sum_dy − x̂·sum_dy_xhat)
//                              with the global sums and count.
void batch_norm_backward_sums(const float* x, const float* dy, const float* mean,
                              const float* inv_std, double* sum_dy, double* sum_dy_xhat,
                              std::size_t batch, std::size_t channels, std::size_t spatial);
void batch_norm_backward_input(const float* x, const float* dy, const float* gamma,
                               const float* mean, const float* inv_std, const double* sum_dy,
                               const double* sum_dy_xhat, std::size_t count, float* dx,
                               std::size_t batch, std::size_t channels, std::size_t spatial);

// ---- more optimizer steps -------------------------------------------------------------------
// SGD with L2 weight decay λ and optionally Nesterov momentum, in the design's form:
//   g' = g + λ·w;  v = γ·v + lr·g';  w −= v              (classical)
//                                    w −= γ·v + lr·g'     (Nesterov)
void sgd_step(float* weight, float* velocity, const float* grad, std::size_t count, float lr,
              float momentum, float weight_decay, bool nesterov);
// Adam (Kingma and Ba 2015) with bias correction; decoupled weight decay (AdamW, Loshchilov and
// Hutter 2019) when decoupled, else L2 added to the gradient:
//   g' = g (+ λ·w unless decoupled);  m = β1·m + (1−β1)·g';  v = β2·v + (1−β2)·g'²
//   w −= lr · ( (m / c1) / (sqrt(v / c2) + ε)  (+ λ·w when decoupled) )
// with c1 = 1 − β1^t, c2 = 1 − β2^t passed in by the caller.
void adam_step(float* weight, float* m, float* v, const float* grad, std::size_t count, float lr,
               float beta1, float beta2, float epsilon, float correction1, float correction2,
               float weight_decay, bool decoupled);

// ---- data augmentation ----------------------------------------------------------------------
// For each image n of x[N,C,H,W], y[n] = x[n] sampled at the affine map of its six coefficients
// affine[6n..6n+5] = (a, b, c, d, e, f) plus, when displacement is not null, the displacement
// field displacement[N,2,H,W] (plane 0 columns, plane 1 rows):
//   y[n,c,i,j] = bilinear x[n,c](a·j + b·i + c + Δu[n,i,j], d·j + e·i + f + Δv[n,i,j])
// (column, row), with zero outside the image.
void affine_warp(const float* x, float* y, const float* affine, const float* displacement,
                 std::size_t batch, std::size_t channels, std::size_t height, std::size_t width);

// Random erasing of one image x[C,H,W]: the rectangle rows [top, top + h), columns
// [left, left + w) of every channel filled with values uniform in [lo, hi], lo and hi the least
// and greatest value of the whole image (all channels), each value its own draw from
// Rng(fill_seed), channel by channel, row by row.
void erase_rectangle(float* x, std::size_t channels, std::size_t height, std::size_t width,
                     std::size_t top, std::size_t left, std::size_t h, std::size_t w,
                     std::uint64_t fill_seed);

// Separable smoothing of `planes` images [H, W]: y = gain · (g ⊛ x) with the 1-D filter
// taps[0..2r] (r = radius) applied along the rows, then along the columns, zero outside the
// image. scratch holds planes·H·W floats. The elastic distortion of Simard et al. (2003) is this,
// with Gaussian taps, applied to uniform noise in [−1, 1].
void smooth_planes(const float* x, float* y, float* scratch, const float* taps, std::size_t radius,
                   float gain, std::size_t planes, std::size_t height, std::size_t width);

}  // namespace kernels
}  // namespace cnn
