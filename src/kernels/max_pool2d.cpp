// Max pooling over (possibly overlapping, possibly padded) windows, one channel plane at a time.
#include <algorithm>
#include <cstring>
#include <utility>

#include "cnn/core/parallel.hpp"
#include "kernels/kernels.hpp"
#include "kernels/tiles.hpp"

namespace cnn::kernels {

namespace {

// ---- the 2x2 window with stride 2 and no padding ---------------------------------------------
// The common case, without the general loop's clipping, and in vector lanes: a chunk of L
// neighbouring outputs of one output row reads 2L floats of each of its two input rows and splits
// them into the windows' four corners (a = top-left, b = top-right, c = bottom-left,
// d = bottom-right), each a vector of L lanes. The maximum and its corner are then chosen by
// vector compares and selects, without the data-dependent branches GCC emits for the scalar
// selects (which mispredict on real data). The rows are short (5 to 14 outputs in the presets),
// so a row is covered by chunks of the widest L <= its length, the last chunk moved back to end
// at the row's end (its first outputs are computed twice, with the same results); rows shorter
// than 4 outputs take the scalar loop. Nothing outside the windows is read or written, so odd
// heights and widths (whose last row or column no window reads) need no special case.
//
// Results are those of the general loop, bit for bit: '>' keeps the first maximum in scan order
// (a, b, c, d), so with ties the earliest corner wins. NaN: a compare with NaN is false, so a NaN
// in corner a is the result (nothing beats it), and a NaN in b, c or d never wins.

template <std::size_t L>
struct Lanes {
  // typedef: GCC ignores a vector_size that depends on a template parameter in a 'using'.
  typedef float Floats __attribute__((vector_size(L * sizeof(float)), aligned(4), may_alias));
  typedef std::int32_t Ints
      __attribute__((vector_size(L * sizeof(std::int32_t)), aligned(4), may_alias));

  static Floats load(const float* p) { return *reinterpret_cast<const Floats*>(p); }
  static Ints load(const std::int32_t* p) { return *reinterpret_cast<const Ints*>(p); }
  static void store(float* p, Floats v) { *reinterpret_cast<Floats*>(p) = v; }
  static void store(std::int32_t* p, Ints v) { *reinterpret_cast<Ints*>(p) = v; }

  // Lanes 0, 2, 4, ... (even = true) or 1, 3, 5, ... of the 2L floats lo:hi.
  template <std::size_t... I>
  static Floats evens(Floats lo, Floats hi, std::index_sequence<I...>) {
    return __builtin_shufflevector(lo, hi, static_cast<int>(2 * I)...);
  }
  template <std::size_t... I>
  static Floats odds(Floats lo, Floats hi, std::index_sequence<I...>) {
    return __builtin_shufflevector(lo, hi, static_cast<int>(2 * I + 1)...);
  }
  // The inverse: the first (low) or last L floats of e0, o0, e1, o1, ...
  template <std::size_t... I>
  static Floats interleave_low(Floats e, Floats o, std::index_sequence<I...>) {
    return __builtin_shufflevector(e, o, static_cast<int>(I % 2 == 0 ? I / 2 : L + I / 2)...);
  }
  template <std::size_t... I>
  static Floats interleave_high(Floats e, Floats o, std::index_sequence<I...>) {
    return __builtin_shufflevector(e, o,
                                   static_cast<int>(I % 2 == 0 ? (L + I) / 2 : L + (L + I) / 2)...);
  }
  // 0, 2, 4, ...: the offsets of the lanes' windows from the chunk's first window.
  template <std::size_t... I>
  static Ints even_offsets(std::index_sequence<I...>) {
    return Ints{static_cast<std::int32_t>(2 * I)...};
  }
};

// Outputs j .. j+L-1 of one output row: top and bottom are the window rows, first the index of
// top[0] within the input plane, width the input width.
template <std::size_t L>
inline void max_pool_2x2_chunk(const float* top, const float* bottom, float* out, std::int32_t* arg,
                               std::size_t j, std::int32_t first, std::int32_t width) {
  using V = Lanes<L>;
  using Floats = typename V::Floats;
  using Ints = typename V::Ints;
  constexpr auto lanes = std::make_index_sequence<L>{};
  const Floats top_lo = V::load(top + 2 * j), top_hi = V::load(top + 2 * j + L);
  const Floats bottom_lo = V::load(bottom + 2 * j), bottom_hi = V::load(bottom + 2 * j + L);
  const Floats a = V::evens(top_lo, top_hi, lanes), b = V::odds(top_lo, top_hi, lanes);
  const Floats c = V::evens(bottom_lo, bottom_hi, lanes), d = V::odds(bottom_lo, bottom_hi, lanes);
  // The winner's offset from its window's top-left corner: 0, 1, width or width + 1.
  const Ints zero{}, one = zero + 1, below = zero + width, below_right = below + 1;
  Floats best = a;
  Ints offset = zero;
  const Ints b_wins = b > best;
  best = b_wins ? b : best;
  offset = b_wins ? one : offset;
  const Ints c_wins = c > best;
  best = c_wins ? c : best;
  offset = c_wins ? below : offset;
  const Ints d_wins = d > best;
  best = d_wins ? d : best;
  offset = d_wins ? below_right : offset;
  V::store(out + j, best);
  const auto corner = first + static_cast<std::int32_t>(2 * j);
  V::store(arg + j, corner + V::even_offsets(lanes) + offset);
}

// The scalar form of the chunk, for rows shorter than 4 outputs.
inline void max_pool_2x2_scalar(const float* top, const float* bottom, float* out,
                                std::int32_t* arg, std::size_t j, std::int32_t first,
                                std::int32_t width) {
  const float a = top[2 * j], b = top[2 * j + 1], c = bottom[2 * j], d = bottom[2 * j + 1];
  const auto at = first + 2 * static_cast<std::int32_t>(j);
  float best = a;
  std::int32_t index = at;
  best = b > best ? b : best;
  index = b > a ? at + 1 : index;
  const bool c_wins = c > best;
  best = c_wins ? c : best;
  index = c_wins ? at + width : index;
  const bool d_wins = d > best;
  best = d_wins ? d : best;
  index = d_wins ? at + width + 1 : index;
  out[j] = best;
  arg[j] = index;
}

// Calls chunk(j) for chunks of L outputs covering a row of ow >= L outputs, the last one ending at
// the row's end.
template <std::size_t L, class Chunk>
inline void cover_row(std::size_t ow, Chunk chunk) {
  std::size_t j = 0;
  for (; j + L <= ow; j += L) chunk(j);
  if (j < ow) chunk(ow - L);
}

template <std::size_t L>
void max_pool_2x2_forward(const float* x, float* y, std::int32_t* argmax, std::size_t planes,
                          const WindowGeometry& g) {
  const std::size_t oh = g.out_h(), ow = g.out_w(), W = g.in_w;
  parallel_for(planes, [=](std::size_t, std::size_t begin, std::size_t end) {
    const auto width = static_cast<std::int32_t>(W);
    for (std::size_t plane = begin; plane < end; ++plane) {
      const float* in = x + plane * g.in_h * W;
      float* out = y + plane * oh * ow;
      std::int32_t* arg = argmax + plane * oh * ow;
      for (std::size_t i = 0; i < oh; ++i) {
        const float* top = in + 2 * i * W;
        const auto first = static_cast<std::int32_t>(2 * i * W);
        float* out_row = out + i * ow;
        std::int32_t* arg_row = arg + i * ow;
        if constexpr (L == 1) {
          for (std::size_t j = 0; j < ow; ++j) {
            max_pool_2x2_scalar(top, top + W, out_row, arg_row, j, first, width);
          }
        } else {
          cover_row<L>(ow, [&](std::size_t j) {
            max_pool_2x2_chunk<L>(top, top + W, out_row, arg_row, j, first, width);
          });
        }
      }
    }
  });
}

// Backward for one chunk: each input cell of the L windows gets its window's gradient if it is
// the window's arg-max, else 0 (the windows do not overlap, so nothing adds up). The same values
// as the general scatter's 0 + dy, -0 included: the + 0.0f turns a gradient of -0 into +0.
template <std::size_t L>
inline void max_pool_2x2_backward_chunk(const float* dy, const std::int32_t* arg, float* top,
                                        float* bottom, std::size_t j, std::int32_t first,
                                        std::int32_t width) {
  using V = Lanes<L>;
  using Floats = typename V::Floats;
  using Ints = typename V::Ints;
  constexpr auto lanes = std::make_index_sequence<L>{};
  const Floats grad = V::load(dy + j) + 0.0f;
  const auto corner = first + static_cast<std::int32_t>(2 * j);
  const Ints offset = V::load(arg + j) - (corner + V::even_offsets(lanes));
  const Floats zero{};
  const Floats a = offset == 0 ? grad : zero, b = offset == 1 ? grad : zero;
  const Floats c = offset == width ? grad : zero, d = offset == width + 1 ? grad : zero;
  V::store(top + 2 * j, V::interleave_low(a, b, lanes));
  V::store(top + 2 * j + L, V::interleave_high(a, b, lanes));
  V::store(bottom + 2 * j, V::interleave_low(c, d, lanes));
  V::store(bottom + 2 * j + L, V::interleave_high(c, d, lanes));
}

inline void max_pool_2x2_backward_scalar(const float* dy, const std::int32_t* arg, float* top,
                                         float* bottom, std::size_t j, std::int32_t first,
                                         std::int32_t width) {
  const float grad = dy[j] + 0.0f;
  const std::int32_t offset = arg[j] - (first + 2 * static_cast<std::int32_t>(j));
  top[2 * j] = offset == 0 ? grad : 0.0f;
  top[2 * j + 1] = offset == 1 ? grad : 0.0f;
  bottom[2 * j] = offset == width ? grad : 0.0f;
  bottom[2 * j + 1] = offset == width + 1 ? grad : 0.0f;
}

template <std::size_t L>
void max_pool_2x2_backward(const float* dy, const std::int32_t* argmax, float* dx,
                           std::size_t planes, const WindowGeometry& g) {
  const std::size_t oh = g.out_h(), ow = g.out_w(), W = g.in_w;
  const std::size_t in_plane = g.in_h * W;
  // An odd height's last row and an odd width's last column belong to no window.
  const bool uncovered = g.in_h % 2 != 0 || W % 2 != 0;
  parallel_for(planes, [=](std::size_t, std::size_t begin, std::size_t end) {
    const auto width = static_cast<std::int32_t>(W);
    for (std::size_t plane = begin; plane < end; ++plane) {
      float* d = dx + plane * in_plane;
      if (uncovered) std::memset(d, 0, in_plane * sizeof(float));
      const float* grad = dy + plane * oh * ow;
      const std::int32_t* arg = argmax + plane * oh * ow;
      for (std::size_t i = 0; i < oh; ++i) {
        float* top = d + 2 * i * W;
        const auto first = static_cast<std::int32_t>(2 * i * W);
        const float* grad_row = grad + i * ow;
        const std::int32_t* arg_row = arg + i * ow;
        if constexpr (L == 1) {
          for (std::size_t j = 0; j < ow; ++j) {
            max_pool_2x2_backward_scalar(grad_row, arg_row, top, top + W, j, first, width);
          }
        } else {
          cover_row<L>(ow, [&](std::size_t j) {
            max_pool_2x2_backward_chunk<L>(grad_row, arg_row, top, top + W, j, first, width);
          });
        }
      }
    }
  });
}

// Calls run(std::integral_constant<std::size_t, L>) for the widest chunk L (16, 8 or 4 lanes,
// at most the instruction set's vector width) that fits in a row of ow outputs; L = 1 (scalar)
// for rows shorter than 4.
template <class Run>
void with_chunk_width(std::size_t ow, Run run) {
  if constexpr (tiles::kLanes >= 16) {
    if (ow >= 16) return run(std::integral_constant<std::size_t, 16>{});
  }
  if constexpr (tiles::kLanes >= 8) {
    if (ow >= 8) return run(std::integral_constant<std::size_t, 8>{});
  }
  if (ow >= 4) return run(std::integral_constant<std::size_t, 4>{});
  run(std::integral_constant<std::size_t, 1>{});
}

bool is_2x2_stride_2(const WindowGeometry& g) {
  return g.kernel == Size2{2} && g.stride == Size2{2} && g.padding == Size2{0};
}

}  // namespace

void max_pool2d_forward(const float* x, float* y, std::int32_t* argmax, std::size_t batch,
                        const WindowGeometry& g) {
  if (is_2x2_stride_2(g)) {
    with_chunk_width(g.out_w(), [&](auto lanes) {
      max_pool_2x2_forward<decltype(lanes)::value>(x, y, argmax, batch * g.channels, g);
    });
    return;
  }
  const std::size_t oh = g.out_h(), ow = g.out_w();
  const std::ptrdiff_t H = static_cast<std::ptrdiff_t>(g.in_h);
  const std::ptrdiff_t W = static_cast<std::ptrdiff_t>(g.in_w);
  parallel_for(batch * g.channels, [&](std::size_t, std::size_t begin, std::size_t end) {
    for (std::size_t plane = begin; plane < end; ++plane) {
      const float* in = x + plane * g.in_h * g.in_w;
      float* out = y + plane * oh * ow;
      std::int32_t* arg = argmax + plane * oh * ow;
      for (std::size_t i = 0; i < oh; ++i) {
        // The window's rows clipped to the image: padding rows never take part.
        const std::ptrdiff_t a0 =
            static_cast<std::ptrdiff_t>(i * g.stride.h) - static_cast<std::ptrdiff_t>(g.padding.h);
        const std::ptrdiff_t a_begin = std::max<std::ptrdiff_t>(a0, 0);
        const std::ptrdiff_t a_end =
            std::min<std::ptrdiff_t>(a0 + static_cast<std::ptrdiff_t>(g.kernel.h), H);
        for (std::size_t j = 0; j < ow; ++j) {
          const std::ptrdiff_t b0 = static_cast<std::ptrdiff_t>(j * g.stride.w) -
                                    static_cast<std::ptrdiff_t>(g.padding.w);
          const std::ptrdiff_t b_begin = std::max<std::ptrdiff_t>(b0, 0);
          const std::ptrdiff_t b_end =
              std::min<std::ptrdiff_t>(b0 + static_cast<std::ptrdiff_t>(g.kernel.w), W);
          // Padding is at most half the window, so the clipped window is never empty. '>' keeps
          // the first maximum in scan order (row by row).
          std::ptrdiff_t best_index = a_begin * W + b_begin;
          float best = in[best_index];
          for (std::ptrdiff_t a = a_begin; a < a_end; ++a) {
            for (std::ptrdiff_t b = b_begin; b < b_end; ++b) {
              const float v = in[a * W + b];
              const bool wins = v > best;
              best = wins ? v : best;
              best_index = wins ? a * W + b : best_index;
            }
          }
          out[i * ow + j] = best;
          arg[i * ow + j] = static_cast<std::int32_t>(best_index);
        }
      }
    }
  });
}

void max_pool2d_backward(const float* dy, const std::int32_t* argmax, float* dx, std::size_t batch,
                         const WindowGeometry& g) {
  if (is_2x2_stride_2(g)) {
    with_chunk_width(g.out_w(), [&](auto lanes) {
      max_pool_2x2_backward<decltype(lanes)::value>(dy, argmax, dx, batch * g.channels, g);
    });
    return;
  }
  const std::size_t out_plane = g.out_h() * g.out_w();
  const std::size_t in_plane = g.in_h * g.in_w;
  parallel_for(batch * g.channels, [&](std::size_t, std::size_t begin, std::size_t end) {
    for (std::size_t plane = begin; plane < end; ++plane) {
      float* d = dx + plane * in_plane;
      std::memset(d, 0, in_plane * sizeof(float));
      const float* grad = dy + plane * out_plane;
      const std::int32_t* arg = argmax + plane * out_plane;
      // Overlapping windows may share a winner: its gradients add up.
      for (std::size_t k = 0; k < out_plane; ++k) d[arg[k]] += grad[k];
    }
  });
}

}  // namespace cnn::kernels
