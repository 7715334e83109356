// Batch normalisation (Ioffe and Szegedy 2015) over NCS buffers, one channel per work item: each
// channel's sums are taken by one thread in a fixed order, so results do not depend on the
// thread count. Sums are accumulated in double: a channel holds up to N·H·W (tens of thousands)
// values, and float sums of that many would lose the small variances.
#include <algorithm>
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

// Channel c's mean and 1/σ (recorded), its running statistics (updated), and the scale and
// shift that normalise it (y = scale·x + shift = γ·x̂ + β), from the mean and the sum of squared
// deviations over `count` values.
void channel_statistics(const float* gamma, const float* beta, float* mean, float* inv_std,
                        float* running_mean, float* running_var, double mu, double squares,
                        std::size_t count, std::size_t c, float epsilon, float momentum,
                        float& scale, float& shift) {
  const double variance = squares / static_cast<double>(count);
  const double inv = 1.0 / std::sqrt(variance + epsilon);
  mean[c] = static_cast<float>(mu);
  inv_std[c] = static_cast<float>(inv);
  scale = gamma[c] * static_cast<float>(inv);
  shift = beta[c] - static_cast<float>(mu) * scale;
  const double unbiased =
      count > 1 ? variance * static_cast<double>(count) / static_cast<double>(count - 1) : variance;
  running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * static_cast<float>(mu);
  running_var[c] = (1.0f - momentum) * running_var[c] + momentum * static_cast<float>(unbiased);
}

// y = γ·x̂ + β for channel c, with channel_statistics.
void channel_normalize(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                       float* inv_std, float* running_mean, float* running_var, double mu,
                       double squares, std::size_t count, std::size_t c, std::size_t batch,
                       std::size_t channels, std::size_t spatial, float epsilon, float momentum) {
  float scale = 0.0f, shift = 0.0f;
  channel_statistics(gamma, beta, mean, inv_std, running_mean, running_var, mu, squares, count, c,
                     epsilon, momentum, scale, shift);
  for (std::size_t n = 0; n < batch; ++n) {
    const float* in = x + (n * channels + c) * spatial;
    float* out = y + (n * channels + c) * spatial;
#pragma omp simd
    for (std::size_t s = 0; s < spatial; ++s) out[s] = in[s] * scale + shift;
  }
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

// Channels [c0, c0 + width) at a time. For [N, C] inputs (spatial 1, after a linear layer) a
// channel's values lie C apart, and the loops above would add them one at a time, each addition
// waiting for the one before: 64 values a channel, 500 µs for fc(256)'s batch norm at batch 64.
// The block versions below give each channel a vector lane instead; every lane adds its values in
// the same order as the loops above (over n), so the sums are the same bit for bit.
constexpr std::size_t kChannelBlock = 64;

// out[l] = channel_sum(x, c0 + l, ...) for l < width, of [N, C] inputs.
void block_sums(const float* x, std::size_t c0, std::size_t width, std::size_t batch,
                std::size_t channels, double* out) {
  for (std::size_t l = 0; l < width; ++l) out[l] = 0.0;
  for (std::size_t n = 0; n < batch; ++n) {
    const float* row = x + n * channels + c0;
#pragma omp simd
    for (std::size_t l = 0; l < width; ++l) out[l] += row[l];
  }
}

// out[l] = channel_squares(x, mu[l], c0 + l, ...) for l < width, of [N, C] inputs.
void block_squares(const float* x, const double* mu, std::size_t c0, std::size_t width,
                   std::size_t batch, std::size_t channels, double* out) {
  for (std::size_t l = 0; l < width; ++l) out[l] = 0.0;
  for (std::size_t n = 0; n < batch; ++n) {
    const float* row = x + n * channels + c0;
#pragma omp simd
    for (std::size_t l = 0; l < width; ++l) {
      const double d = row[l] - mu[l];
      out[l] += d * d;
    }
  }
}

// channel_backward_sums for channels c0 + l, l < width, of [N, C] inputs (mean and inv_std
// indexed by channel, the sums by l).
void block_backward_sums(const float* x, const float* dy, const float* mean, const float* inv_std,
                         std::size_t c0, std::size_t width, std::size_t batch, std::size_t channels,
                         double* sum_dy, double* sum_dy_xhat) {
  for (std::size_t l = 0; l < width; ++l) sum_dy[l] = sum_dy_xhat[l] = 0.0;
  const float* mu = mean + c0;
  const float* inv = inv_std + c0;
  for (std::size_t n = 0; n < batch; ++n) {
    const float* in = x + n * channels + c0;
    const float* g = dy + n * channels + c0;
#pragma omp simd
    for (std::size_t l = 0; l < width; ++l) {
      sum_dy[l] += g[l];
      sum_dy_xhat[l] += static_cast<double>(g[l]) * ((in[l] - mu[l]) * inv[l]);
    }
  }
}

// channel_input_gradient for channels c0 + l, l < width, of [N, C] inputs (spatial 1): the same
// expression for each value, with the channels in vector lanes.
void block_input_gradient(const float* x, const float* dy, const float* gamma, const float* mean,
                          const float* inv_std, const double* sum_dy, const double* sum_dy_xhat,
                          std::size_t count, float* dx, std::size_t c0, std::size_t width,
                          std::size_t batch, std::size_t channels) {
  float k[kChannelBlock], db[kChannelBlock], dg[kChannelBlock];
  const auto m = static_cast<float>(count);
  for (std::size_t l = 0; l < width; ++l) {
    k[l] = gamma[c0 + l] * inv_std[c0 + l] / static_cast<float>(count);
    db[l] = static_cast<float>(sum_dy[l]);
    dg[l] = static_cast<float>(sum_dy_xhat[l]);
  }
  const float* mu = mean + c0;
  const float* inv = inv_std + c0;
  for (std::size_t n = 0; n < batch; ++n) {
    const float* in = x + n * channels + c0;
    const float* g = dy + n * channels + c0;
    float* out = dx + n * channels + c0;
#pragma omp simd
    for (std::size_t l = 0; l < width; ++l) {
      out[l] = k[l] * (m * g[l] - db[l] - (in[l] - mu[l]) * inv[l] * dg[l]);
    }
  }
}

// channel_normalize for channels c0 + l, l < width, of [N, C] inputs (spatial 1), mu and squares
// indexed by l: the same statistics, and the same expression for each value with the channels in
// vector lanes.
void block_normalize(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                     float* inv_std, float* running_mean, float* running_var, const double* mu,
                     const double* squares, std::size_t count, std::size_t c0, std::size_t width,
                     std::size_t batch, std::size_t channels, float epsilon, float momentum) {
  float scale[kChannelBlock], shift[kChannelBlock];
  for (std::size_t l = 0; l < width; ++l) {
    channel_statistics(gamma, beta, mean, inv_std, running_mean, running_var, mu[l], squares[l],
                       count, c0 + l, epsilon, momentum, scale[l], shift[l]);
  }
  for (std::size_t n = 0; n < batch; ++n) {
    const float* in = x + n * channels + c0;
    float* out = y + n * channels + c0;
#pragma omp simd
    for (std::size_t l = 0; l < width; ++l) out[l] = in[l] * scale[l] + shift[l];
  }
}

// Calls block(c0, width) for blocks of at most kChannelBlock channels covering [begin, end).
template <class Block>
void for_each_block(std::size_t begin, std::size_t end, Block block) {
  for (std::size_t c0 = begin; c0 < end; c0 += kChannelBlock) {
    block(c0, std::min(kChannelBlock, end - c0));
  }
}

}  // namespace

void batch_norm_forward_train(const float* x, const float* gamma, const float* beta, float* y,
                              float* mean, float* inv_std, float* running_mean, float* running_var,
                              std::size_t batch, std::size_t channels, std::size_t spatial,
                              float epsilon, float momentum) {
  const std::size_t count = batch * spatial;
  parallel_for(channels, [&](std::size_t, std::size_t begin, std::size_t end) {
    if (spatial == 1) {
      for_each_block(begin, end, [&](std::size_t c0, std::size_t width) {
        double mu[kChannelBlock], squares[kChannelBlock];
        block_sums(x, c0, width, batch, channels, mu);
        for (std::size_t l = 0; l < width; ++l) mu[l] /= static_cast<double>(count);
        block_squares(x, mu, c0, width, batch, channels, squares);
        block_normalize(x, gamma, beta, y, mean, inv_std, running_mean, running_var, mu, squares,
                        count, c0, width, batch, channels, epsilon, momentum);
      });
      return;
    }
    // One channel at a time, so that its values stay in cache through the three passes.
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
    if (spatial == 1) {
      for_each_block(begin, end, [&](std::size_t c0, std::size_t width) {
        block_sums(x, c0, width, batch, channels, sums + c0);
      });
      return;
    }
    for (std::size_t c = begin; c < end; ++c) sums[c] = channel_sum(x, c, batch, channels, spatial);
  });
}

void batch_norm_squares(const float* x, const double* mu, double* squares, std::size_t batch,
                        std::size_t channels, std::size_t spatial) {
  parallel_for(channels, [&](std::size_t, std::size_t begin, std::size_t end) {
    if (spatial == 1) {
      for_each_block(begin, end, [&](std::size_t c0, std::size_t width) {
        block_squares(x, mu + c0, c0, width, batch, channels, squares + c0);
      });
      return;
    }
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
    if (spatial == 1) {
      for_each_block(begin, end, [&](std::size_t c0, std::size_t width) {
        block_normalize(x, gamma, beta, y, mean, inv_std, running_mean, running_var, mu + c0,
                        squares + c0, count, c0, width, batch, channels, epsilon, momentum);
      });
      return;
    }
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
    if (spatial == 1) {
      for_each_block(begin, end, [&](std::size_t c0, std::size_t width) {
        double sum_dy[kChannelBlock], sum_dy_xhat[kChannelBlock];
        block_backward_sums(x, dy, mean, inv_std, c0, width, batch, channels, sum_dy, sum_dy_xhat);
        for (std::size_t l = 0; l < width; ++l) {
          dgamma[c0 + l] = static_cast<float>(sum_dy_xhat[l]);
          dbeta[c0 + l] = static_cast<float>(sum_dy[l]);
        }
        if (dx != nullptr) {
          block_input_gradient(x, dy, gamma, mean, inv_std, sum_dy, sum_dy_xhat, count, dx, c0,
                               width, batch, channels);
        }
      });
      return;
    }
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
    if (spatial == 1) {
      for_each_block(begin, end, [&](std::size_t c0, std::size_t width) {
        block_backward_sums(x, dy, mean, inv_std, c0, width, batch, channels, sum_dy + c0,
                            sum_dy_xhat + c0);
      });
      return;
    }
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
    if (spatial == 1) {
      for_each_block(begin, end, [&](std::size_t c0, std::size_t width) {
        block_input_gradient(x, dy, gamma, mean, inv_std, sum_dy + c0, sum_dy_xhat + c0, count, dx,
                             c0, width, batch, channels);
      });
      return;
    }
    for (std::size_t c = begin; c < end; ++c) {
      channel_input_gradient(x, dy, gamma[c], mean[c], inv_std[c], sum_dy[c], sum_dy_xhat[c], count,
                             dx, c, batch, channels, spatial);
    }
  });
}

}  // namespace cnn::kernels
