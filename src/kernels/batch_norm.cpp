// Batch normalisation (Ioffe and Szegedy 2015) over NCS buffers, one channel per work item: each
// channel's sums are taken by one thread in a fixed order, so results do not depend on the
// thread count. Sums are accumulated in double: a channel holds up to N·H·W (tens of thousands)
// values, and float sums of that many would lose the small variances.
#include <cmath>

#include "cnn/core/parallel.hpp"
#include "kernels/kernels.hpp"

namespace cnn::kernels {

namespace {

// The per-channel pieces of the training-mode passes, shared by the one-pass kernels (one
// process) and the split ones (data-parallel runs reduce the sums across processes in between),
// so that both compute the same expressions.
double channel_sum(const float* x, std::size_t c, std::size_t batch, std::size_t channels,
                   std::size_t spatial) {
  double sum = 0.0;
  for (std::size_t n = 0; n < batch; ++n) {
    const float* in = x + (n * channels + c) * spatial;
#pragma omp simd reduction(+ : sum)
    for (std::size_t s = 0; s < spatial; ++s) sum += in[s];
  }
  return sum;
}

double channel_squares(const float* x, double mu, std::size_t c, std::size_t batch,
                       std::size_t channels, std::size_t spatial) {
  double squares = 0.0;
  for (std::size_t n = 0; n < batch; ++n) {
    const float* in = x + (n * channels + c) * spatial;
#pragma omp simd reduction(+ : squares)
    for (std::size_t s = 0; s < spatial; ++s) {
      const double d = in[s] - mu;
      squares += d * d;
    }
  }
  return squares;
}

// y = γ·x̂ + β for channel c and the running statistics, from the mean and the sum of squared
// deviations over `count` values.
void channel_normalize(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                       float* inv_std, float* running_mean, float* running_var, double mu,
                       double squares, std::size_t count, std::size_t c, std::size_t batch,
                       std::size_t channels, std::size_t spatial, float epsilon, float momentum) {
  const double variance = squares / static_cast<double>(count);
  const double inv = 1.0 / std::sqrt(variance + epsilon);
  mean[c] = static_cast<float>(mu);
  inv_std[c] = static_cast<float>(inv);
  const float scale = gamma[c] * static_cast<float>(inv);
  const float shift = beta[c] - static_cast<float>(mu) * scale;
  for (std::size_t n = 0; n < batch; ++n) {
    const float* in = x + (n * channels + c) * spatial;
    float* out = y + (n * channels + c) * spatial;
#pragma omp simd
    for (std::size_t s = 0; s < spatial; ++s) out[s] = in[s] * scale + shift;
  }
  const double unbiased =
      count > 1 ? variance * static_cast<double>(count) / static_cast<double>(count - 1) : variance;
  running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * static_cast<float>(mu);
  running_var[c] = (1.0f - momentum) * running_var[c] + momentum * static_cast<float>(unbiased);
}

void channel_backward_sums(const float* x, const float* dy, float mu, float inv, std::size_t c,
                           std::size_t batch, std::size_t channels, std::size_t spatial,
                           double& sum_dy_out, double& sum_dy_xhat_out) {
  double sum_dy = 0.0, sum_dy_xhat = 0.0;
  for (std::size_t n = 0; n < batch; ++n) {
    const float* in = x + (n * channels + c) * spatial;
    const float* g = dy + (n * channels + c) * spatial;
#pragma omp simd reduction(+ : sum_dy, sum_dy_xhat)
    for (std::size_t s = 0; s < spatial; ++s) {
      sum_dy += g[s];
      sum_dy_xhat += static_cast<double>(g[s]) * ((in[s] - mu) * inv);
    }
  }
  sum_dy_out = sum_dy;
  sum_dy_xhat_out = sum_dy_xhat;
}

void channel_input_gradient(const float* x, const float* dy, float gamma, float mu, float inv,
                            double sum_dy, double sum_dy_xhat, std::size_t count, float* dx,
                            std::size_t c, std::size_t batch, std::size_t channels,
                            std::size_t spatial) {
  const float k = gamma * inv / static_cast<float>(count);
  const auto m = static_cast<float>(count);
  const auto db = static_cast<float>(sum_dy), dg = static_cast<float>(sum_dy_xhat);
  for (std::size_t n = 0; n < batch; ++n) {
    const float* in = x + (n * channels + c) * spatial;
    const float* g = dy + (n * channels + c) * spatial;
    float* out = dx + (n * channels + c) * spatial;
#pragma omp simd
    for (std::size_t s = 0; s < spatial; ++s) {
      out[s] = k * (m * g[s] - db - (in[s] - mu) * inv * dg);
    }
  }
}

}  // namespace

void batch_norm_forward_train(const float* x, const float* gamma, const float* beta, float* y,
                              float* mean, float* inv_std, float* running_mean, float* running_var,
                              std::size_t batch, std::size_t channels, std::size_t spatial,
                              float epsilon, float momentum) {
  const std::size_t count = batch * spatial;
  parallel_for(channels, [&](std::size_t, std::size_t begin, std::size_t end) {
    for (std::size_t c = begin; c < end; ++c) {
      const double mu = channel_sum(x, c, batch, channels, spatial) / static_cast<double>(count);
      const double squares = channel_squares(x, mu, c, batch, channels, spatial);
      channel_normalize(x, gamma, beta, y, mean, inv_std, running_mean, running_var, mu, squares,
                        count, c, batch, channels, spatial, epsilon, momentum);
    }
  });
}

void batch_norm_sums(const float* x, double* sums, std::size_t batch, std::size_t channels,
                     std::size_t spatial) {
  parallel_for(channels, [&](std::size_t, std::size_t begin, std::size_t end) {
    for (std::size_t c = begin; c < end; ++c) sums[c] = channel_sum(x, c, batch, channels, spatial);
  });
}

void batch_norm_squares(const float* x, const double* mu, double* squares, std::size_t batch,
                        std::size_t channels, std::size_t spatial) {
  parallel_for(channels, [&](std::size_t, std::size_t begin, std::size_t end) {
    for (std::size_t c = begin; c < end; ++c) {
      squares[c] = channel_squares(x, mu[c], c, batch, channels, spatial);
    }
  });
}

void batch_norm_normalize(const float* x, const float* gamma, const float* beta, float* y,
                          const double* mu, const double* squares, std::size_t count, float* mean,
                          float* inv_std, float* running_mean, float* running_var,
                          std::size_t batch, std::size_t channels, std::size_t spatial,
                          float epsilon, float momentum) {
  parallel_for(channels, [&](std::size_t, std::size_t begin, std::size_t end) {
    for (std::size_t c = begin; c < end; ++c) {
      channel_normalize(x, gamma, beta, y, mean, inv_std, running_mean, running_var, mu[c],
                        squares[c], count, c, batch, channels, spatial, epsilon, momentum);
    }
  });
}

void batch_norm_forward_inference(const float* x, const float* gamma, const float* beta, float* y,
                                  const float* running_mean, const float* running_var,
                                  std::size_t batch, std::size_t channels, std::size_t spatial,
                                  float epsilon) {
  parallel_for(batch * channels, [&](std::size_t, std::size_t begin, std::size_t end) {
    for (std::size_t plane = begin; plane < end; ++plane) {
      const std::size_t c = plane % channels;
      const float scale = gamma[c] / std::sqrt(running_var[c] + epsilon);
      const float shift = beta[c] - running_mean[c] * scale;
      const float* in = x + plane * spatial;
      float* out = y + plane * spatial;
#pragma omp simd
      for (std::size_t s = 0; s < spatial; ++s) out[s] = in[s] * scale + shift;
    }
  });
}

void batch_norm_backward(const float* x, const float* dy, const float* gamma, const float* mean,
                         const float* inv_std, float* dgamma, float* dbeta, float* dx,
                         std::size_t batch, std::size_t channels, std::size_t spatial) {
  const std::size_t count = batch * spatial;
  parallel_for(channels, [&](std::size_t, std::size_t begin, std::size_t end) {
    for (std::size_t c = begin; c < end; ++c) {
      double sum_dy = 0.0, sum_dy_xhat = 0.0;
      channel_backward_sums(x, dy, mean[c], inv_std[c], c, batch, channels, spatial, sum_dy,
                            sum_dy_xhat);
      dgamma[c] = static_cast<float>(sum_dy_xhat);
      dbeta[c] = static_cast<float>(sum_dy);
      if (dx == nullptr) continue;
      channel_input_gradient(x, dy, gamma[c], mean[c], inv_std[c], sum_dy, sum_dy_xhat, count, dx,
                             c, batch, channels, spatial);
    }
  });
}

void batch_norm_backward_sums(const float* x, const float* dy, const float* mean,
                              const float* inv_std, double* sum_dy, double* sum_dy_xhat,
                              std::size_t batch, std::size_t channels, std::size_t spatial) {
  parallel_for(channels, [&](std::size_t, std::size_t begin, std::size_t end) {
    for (std::size_t c = begin; c < end; ++c) {
      channel_backward_sums(x, dy, mean[c], inv_std[c], c, batch, channels, spatial, sum_dy[c],
                            sum_dy_xhat[c]);
    }
  });
}

void batch_norm_backward_input(const float* x, const float* dy, const float* gamma,
                               const float* mean, const float* inv_std, const double* sum_dy,
                               const double* sum_dy_xhat, std::size_t count, float* dx,
                               std::size_t batch, std::size_t channels, std::size_t spatial) {
  parallel_for(channels, [&](std::size_t, std::size_t begin, std::size_t end) {
    for (std::size_t c = begin; c < end; ++c) {
      channel_input_gradient(x, dy, gamma[c], mean[c], inv_std[c], sum_dy[c], sum_dy_xhat[c], count,
                             dx, c, batch, channels, spatial);
    }
  });
}

}  // namespace cnn::kernels
