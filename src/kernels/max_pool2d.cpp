// Max pooling over (possibly overlapping, possibly padded) windows, one channel plane at a time.
#include <algorithm>
#include <bit>
#include <cstdint>
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
// selects (which mispredict on real data).
//
// The rows are short (5, 12 or 14 outputs in the presets), often shorter than a vector, and a
// chunk cannot straddle two rows (their windows lie 2W floats apart, not 2·ow). So a row is done
// by one of two forms (with_chunk_widths picks the widths):
// - spill: when H and W are even, a row of ow outputs is one chunk of the least width L > ow
//   (L <= 2·ow). Its lanes past the row's end read the following rows (which exist: the row is
//   not the last of its parallel_for chunk) and write garbage over the next row's outputs, which
//   the next row then overwrites: rows are done in order, and the last row of each parallel_for
//   chunk takes the exact form, so nothing outside the chunk is written. Backward likewise writes
//   the top input row, then the bottom one, each spilling only into cells written after it.
// - exact: chunks of the widest L <= ow, the last one moved back to end at the row's end (its
//   first outputs are computed twice, with the same results); rows under 4 outputs are scalar.
//   Nothing outside the windows is read or written, so odd heights and widths (whose last row or
//   column no window reads) are handled too.
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

  // Lanes 0, 2, 4, ... (evens) or 1, 3, 5, ... (odds) of the 2L floats lo:hi.
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
  // Lane by lane, best and offset become candidate and its offset where candidate > best: the
  // first maximum wins, and a NaN candidate never does.
  static void keep_greater(Floats& best, Ints& offset, Floats candidate, Ints candidate_offset) {
    const Ints wins = candidate > best;
    best = wins ? candidate : best;
    offset = wins ? candidate_offset : offset;
  }
  // 0, 2, 4, ...: the offsets of the lanes' windows from the chunk's first window.
  template <std::size_t... I>
  static Ints even_offsets(std::index_sequence<I...>) {
    return Ints{static_cast<std::int32_t>(2 * I)...};
  }
};

// v, or relu(v) = v > 0 ? v : 0 (relu_forward's select) when Relu: the ReLU that
// relu_max_pool2d_forward fuses in front of the pool, applied to each value as it is read, so
// that everything after (the compares, ties, NaN) is the pool's on relu(x). T: a float or a
// vector of floats.
template <bool Relu, class T>
inline T activated(T v) {
  if constexpr (Relu) {
    const T zero{};
    return v > zero ? v : zero;
  } else {
    return v;
  }
}

// Outputs j .. j+L-1 of one output row: top and bottom are the window rows, first the index of
// top[0] within the input plane, width the input width.
template <std::size_t L, bool Relu>
inline void max_pool_2x2_chunk(const float* top, const float* bottom, float* out, std::int32_t* arg,
                               std::size_t j, std::int32_t first, std::int32_t width) {
  using V = Lanes<L>;
  using Floats = typename V::Floats;
  using Ints = typename V::Ints;
  constexpr auto lanes = std::make_index_sequence<L>{};
  const Floats top_lo = V::load(top + 2 * j), top_hi = V::load(top + 2 * j + L);
  const Floats bottom_lo = V::load(bottom + 2 * j), bottom_hi = V::load(bottom + 2 * j + L);
  const Floats a = activated<Relu>(V::evens(top_lo, top_hi, lanes));
  const Floats b = activated<Relu>(V::odds(top_lo, top_hi, lanes));
  const Floats c = activated<Relu>(V::evens(bottom_lo, bottom_hi, lanes));
  const Floats d = activated<Relu>(V::odds(bottom_lo, bottom_hi, lanes));
  // The winner's offset from its window's top-left corner: 0, 1, width or width + 1.
  const Ints zero{}, one = zero + 1, below = zero + width, below_right = below + 1;
  Floats best = a;
  Ints offset = zero;
  V::keep_greater(best, offset, b, one);
  V::keep_greater(best, offset, c, below);
  V::keep_greater(best, offset, d, below_right);
  V::store(out + j, best);
  const auto corner = first + static_cast<std::int32_t>(2 * j);
  V::store(arg + j, corner + V::even_offsets(lanes) + offset);
}

// The scalar form of the chunk, for rows shorter than 4 outputs (the only 2x2 code that GCC may
// still compile to branches; such rows are rare).
template <bool Relu>
inline void max_pool_2x2_scalar(const float* top, const float* bottom, float* out,
                                std::int32_t* arg, std::size_t j, std::int32_t first,
                                std::int32_t width) {
  const float a = activated<Relu>(top[2 * j]), b = activated<Relu>(top[2 * j + 1]);
  const float c = activated<Relu>(bottom[2 * j]), d = activated<Relu>(bottom[2 * j + 1]);
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

// Calls row(plane, i, last) for the output rows of planes [begin, end) in order; last: the final
// row, which a spilling chunk must not run past.
template <class Row>
inline void for_each_row(std::size_t begin, std::size_t end, std::size_t oh, Row row) {
  for (std::size_t plane = begin; plane < end; ++plane) {
    for (std::size_t i = 0; i < oh; ++i) row(plane, i, plane + 1 == end && i + 1 == oh);
  }
}

// Spill: the spilling chunk width, 0 for none; Exact: the exact chunk width, 1 for scalar; Relu:
// pool relu(x) (relu_max_pool2d_forward).
template <std::size_t Spill, std::size_t Exact, bool Relu>
void max_pool_2x2_forward(const float* x, float* y, std::int32_t* argmax, std::size_t planes,
                          const WindowGeometry& g) {
  const std::size_t oh = g.out_h(), ow = g.out_w(), W = g.in_w, in_plane = g.in_h * W;
  parallel_for(planes, [=](std::size_t, std::size_t begin, std::size_t end) {
    const auto width = static_cast<std::int32_t>(W);
    for_each_row(begin, end, oh, [&](std::size_t plane, std::size_t i, bool last) {
      const float* top = x + plane * in_plane + 2 * i * W;
      const auto first = static_cast<std::int32_t>(2 * i * W);
      float* out = y + (plane * oh + i) * ow;
      std::int32_t* arg = argmax + (plane * oh + i) * ow;
      if constexpr (Spill != 0) {
        if (!last) {
          return max_pool_2x2_chunk<Spill, Relu>(top, top + W, out, arg, 0, first, width);
        }
      }
      if constexpr (Exact == 1) {
        for (std::size_t j = 0; j < ow; ++j) {
          max_pool_2x2_scalar<Relu>(top, top + W, out, arg, j, first, width);
        }
      } else {
        cover_row<Exact>(ow, [&](std::size_t j) {
          max_pool_2x2_chunk<Exact, Relu>(top, top + W, out, arg, j, first, width);
        });
      }
    });
  });
}

// Backward for one chunk: each input cell of the L windows gets its window's gradient if it is
// the window's arg-max, else 0 (the windows do not overlap, so nothing adds up). The same values
// as the general scatter's 0 + dy, -0 included: the + 0.0f turns a gradient of -0 into +0.
// Relu: the gradient of relu then pool (relu_max_pool2d_backward), the window's gradient masked
// by its output y > 0.
template <std::size_t L, bool Relu>
inline void max_pool_2x2_backward_chunk(const float* dy, const float* y, const std::int32_t* arg,
                                        float* top, float* bottom, std::size_t j,
                                        std::int32_t first, std::int32_t width) {
  using V = Lanes<L>;
  using Floats = typename V::Floats;
  using Ints = typename V::Ints;
  constexpr auto lanes = std::make_index_sequence<L>{};
  const Floats zero{};
  Floats grad = V::load(dy + j) + 0.0f;
  if constexpr (Relu) grad = V::load(y + j) > zero ? grad : zero;
  const auto corner = first + static_cast<std::int32_t>(2 * j);
  const Ints offset = V::load(arg + j) - (corner + V::even_offsets(lanes));
  const Floats a = offset == 0 ? grad : zero, b = offset == 1 ? grad : zero;
  const Floats c = offset == width ? grad : zero, d = offset == width + 1 ? grad : zero;
  V::store(top + 2 * j, V::interleave_low(a, b, lanes));
  V::store(top + 2 * j + L, V::interleave_high(a, b, lanes));
  V::store(bottom + 2 * j, V::interleave_low(c, d, lanes));
  V::store(bottom + 2 * j + L, V::interleave_high(c, d, lanes));
}

template <bool Relu>
inline void max_pool_2x2_backward_scalar(const float* dy, const float* y, const std::int32_t* arg,
                                         float* top, float* bottom, std::size_t j,
                                         std::int32_t first, std::int32_t width) {
  float grad = dy[j] + 0.0f;
  if constexpr (Relu) grad = y[j] > 0.0f ? grad : 0.0f;
  const std::int32_t offset = arg[j] - (first + 2 * static_cast<std::int32_t>(j));
  top[2 * j] = offset == 0 ? grad : 0.0f;
  top[2 * j + 1] = offset == 1 ? grad : 0.0f;
  bottom[2 * j] = offset == width ? grad : 0.0f;
  bottom[2 * j + 1] = offset == width + 1 ? grad : 0.0f;
}

template <std::size_t Spill, std::size_t Exact, bool Relu>
void max_pool_2x2_backward(const float* dy, const float* y, const std::int32_t* argmax, float* dx,
                           std::size_t planes, const WindowGeometry& g) {
  const std::size_t oh = g.out_h(), ow = g.out_w(), W = g.in_w, in_plane = g.in_h * W;
  // An odd height's last row and an odd width's last column belong to no window.
  const bool uncovered = g.in_h % 2 != 0 || W % 2 != 0;
  parallel_for(planes, [=](std::size_t, std::size_t begin, std::size_t end) {
    const auto width = static_cast<std::int32_t>(W);
    if (uncovered) std::memset(dx + begin * in_plane, 0, (end - begin) * in_plane * sizeof(float));
    for_each_row(begin, end, oh, [&](std::size_t plane, std::size_t i, bool last) {
      float* top = dx + plane * in_plane + 2 * i * W;
      const auto first = static_cast<std::int32_t>(2 * i * W);
      const std::size_t at = (plane * oh + i) * ow;
      const float* grad = dy + at;
      const float* out = Relu ? y + at : nullptr;
      const std::int32_t* arg = argmax + at;
      if constexpr (Spill != 0) {
        if (!last) {
          return max_pool_2x2_backward_chunk<Spill, Relu>(grad, out, arg, top, top + W, 0, first,
                                                          width);
        }
      }
      if constexpr (Exact == 1) {
        for (std::size_t j = 0; j < ow; ++j) {
          max_pool_2x2_backward_scalar<Relu>(grad, out, arg, top, top + W, j, first, width);
        }
      } else {
        cover_row<Exact>(ow, [&](std::size_t j) {
          max_pool_2x2_backward_chunk<Exact, Relu>(grad, out, arg, top, top + W, j, first, width);
        });
      }
    });
  });
}

template <std::size_t N>
using Width = std::integral_constant<std::size_t, N>;

// Calls run(Width<Spill>, Width<Exact>) with the chunk widths for g's rows (widths 4, 8 or 16, at
// most the instruction set's vector width): Spill the least width with ow < Spill <= 2·ow, when
// H and W are even (0: none; <= 2·ow keeps the spilled lanes within the next row); Exact the
// widest width <= ow (1: scalar, for rows under 4 outputs).
template <class Run>
void with_chunk_widths(const WindowGeometry& g, Run run) {
  const std::size_t ow = g.out_w();
  const bool even = g.in_h % 2 == 0 && g.in_w % 2 == 0;
  if (even && 2 <= ow && ow < 4) return run(Width<4>{}, Width<1>{});
  if constexpr (tiles::kLanes >= 8) {
    if (even && 4 < ow && ow < 8) return run(Width<8>{}, Width<4>{});
  }
  if constexpr (tiles::kLanes >= 16) {
    if (even && 8 < ow && ow < 16) return run(Width<16>{}, Width<8>{});
    if (ow >= 16) return run(Width<0>{}, Width<16>{});
  }
  if constexpr (tiles::kLanes >= 8) {
    if (ow >= 8) return run(Width<0>{}, Width<8>{});
  }
  if (ow >= 4) return run(Width<0>{}, Width<4>{});
  run(Width<0>{}, Width<1>{});
}

bool is_2x2_stride_2(const WindowGeometry& g) {
  return g.kernel == Size2{2} && g.stride == Size2{2} && g.padding == Size2{0};
}

// ---- any window without padding --------------------------------------------------------------
// Every window lies inside the image, and a window's first maximum in scan order (row by row) is
// the first maximum, down its rows, of each row's first maximum. So each input row is reduced
// across once (every window of one output row at a time, in vector lanes over the outputs: the
// windows are independent, where one window at a time was a serial chain of compares, each
// waiting for the last), and the output rows then combine the kh row maxima below them, shared
// between windows that overlap vertically. '>' keeps the first maximum at both steps, so results,
// ties included, are the general loop's.
constexpr std::size_t kMaxPlaneRowMaxima = 8192;  // H·OW row maxima per plane, on the stack

bool fits_unpadded(const WindowGeometry& g) {
  return g.padding == Size2{0} && g.in_h * g.out_w() <= kMaxPlaneRowMaxima;
}

// Row maxima of windows 3 wide at stride 2 (the seed network's 3x3/2 pool), in vector lanes:
// maxima[j] = the first maximum of row[2j], row[2j+1], row[2j+2] for the L outputs j .. j+L-1,
// args[j] its index a·W+b in the plane (first: the row's a·W). The strided reads become two
// loads of 2L floats split into even and odd lanes (as the 2x2 pool does), where the general
// loop's strided reads compiled to gathers. Reads row[2j .. 2j+2L+1]: the caller makes sure the
// row holds them (W ≥ 2·OW + 2). Compares in scan order with '>', so ties and NaN go as in the
// general loop.
template <std::size_t L, bool Relu>
inline void row_max_3s2_chunk(const float* row, float* maxima, std::int32_t* args, std::size_t j,
                              std::int32_t first) {
  using V = Lanes<L>;
  using Floats = typename V::Floats;
  using Ints = typename V::Ints;
  constexpr auto lanes = std::make_index_sequence<L>{};
  const float* at = row + 2 * j;
  const Floats lo = activated<Relu>(V::load(at)), hi = activated<Relu>(V::load(at + L));
  const Floats next_lo = activated<Relu>(V::load(at + 2));
  const Floats next_hi = activated<Relu>(V::load(at + 2 + L));
  const Floats left = V::evens(lo, hi, lanes), middle = V::odds(lo, hi, lanes);
  const Floats right = V::evens(next_lo, next_hi, lanes);
  const Ints zero{}, one = zero + 1, two = zero + 2;
  Floats best = left;
  Ints offset = zero;
  V::keep_greater(best, offset, middle, one);
  V::keep_greater(best, offset, right, two);
  V::store(maxima + j, best);
  const auto corner = first + static_cast<std::int32_t>(2 * j);
  V::store(args + j, corner + V::even_offsets(lanes) + offset);
}

// Whether row_max_3s2 can do g's rows: windows 3 wide at stride 2, at least 4 of them in a row,
// and the row long enough for the chunks' last reads.
bool fits_row_max_3s2(const WindowGeometry& g) {
  const std::size_t ow = g.out_w();
  return g.kernel.w == 3 && g.stride.w == 2 && ow >= 4 && g.in_w >= 2 * ow + 2;
}

// One row's maxima (fits_row_max_3s2) in chunks of the widest lanes that fit in the row. A
// template, so that the chunk widths wider than the instruction set's vectors are never
// instantiated (GCC warns of their ABI).
template <bool Relu, std::size_t MaxLanes = tiles::kLanes>
inline void row_max_3s2(const float* row, float* maxima, std::int32_t* args, std::size_t ow,
                        std::int32_t first) {
  if constexpr (MaxLanes >= 16) {
    if (ow >= 16) {
      return cover_row<16>(
          ow, [&](std::size_t j) { row_max_3s2_chunk<16, Relu>(row, maxima, args, j, first); });
    }
  }
  if constexpr (MaxLanes >= 8) {
    if (ow >= 8) {
      return cover_row<8>(
          ow, [&](std::size_t j) { row_max_3s2_chunk<8, Relu>(row, maxima, args, j, first); });
    }
  }
  cover_row<4>(ow, [&](std::size_t j) { row_max_3s2_chunk<4, Relu>(row, maxima, args, j, first); });
}

// Outputs j .. j+L-1 of one output row from the KH rows of maxima below it (ow apart), the first
// maximum in window order winning as in the definition.
template <std::size_t L, std::size_t KH>
inline void column_max_chunk(const float* top, const std::int32_t* top_arg, std::size_t ow,
                             float* out, std::int32_t* arg, std::size_t j) {
  using V = Lanes<L>;
  typename V::Floats best = V::load(top + j);
  typename V::Ints index = V::load(top_arg + j);
  for (std::size_t m = 1; m < KH; ++m) {
    V::keep_greater(best, index, V::load(top + m * ow + j), V::load(top_arg + m * ow + j));
  }
  V::store(out + j, best);
  V::store(arg + j, index);
}

// One output row from the rows of maxima below it, in chunks of the widest lanes that fit in the
// row. The loop it replaced kept the seed network's rows of 11 outputs (fewer than AVX-512's 16
// lanes) in its scalar remainder, whose branches mispredict on a ReLU's outputs; rows narrower
// than 4 outputs, and windows whose height is known only at run time (KH = 0), still take it.
template <std::size_t KH, std::size_t MaxLanes = tiles::kLanes>
inline void column_max(const float* top, const std::int32_t* top_arg, std::size_t ow,
                       std::size_t kh, float* out, std::int32_t* arg) {
  if constexpr (KH != 0) {
    if constexpr (MaxLanes >= 16) {
      if (ow >= 16) {
        return cover_row<16>(
            ow, [&](std::size_t j) { column_max_chunk<16, KH>(top, top_arg, ow, out, arg, j); });
      }
    }
    if constexpr (MaxLanes >= 8) {
      if (ow >= 8) {
        return cover_row<8>(
            ow, [&](std::size_t j) { column_max_chunk<8, KH>(top, top_arg, ow, out, arg, j); });
      }
    }
    if (ow >= 4) {
      return cover_row<4>(
          ow, [&](std::size_t j) { column_max_chunk<4, KH>(top, top_arg, ow, out, arg, j); });
    }
  }
#pragma omp simd
  for (std::size_t j = 0; j < ow; ++j) {
    float b = top[j];
    std::int32_t k = top_arg[j];
    for (std::size_t m = 1; m < kh; ++m) {
      const float v = top[m * ow + j];
      const bool wins = v > b;
      b = wins ? v : b;
      k = wins ? top_arg[m * ow + j] : k;
    }
    out[j] = b;
    arg[j] = k;
  }
}

// KW and KH: the window's size when known at compile time (3x3, the seed network's, and 2x2), so
// that the loops over it unroll inside the lanes' loop; 0: taken from g. Relu: pool relu(x).
template <std::size_t KH, std::size_t KW, bool Relu>
void max_pool_unpadded(const float* x, float* y, std::int32_t* argmax, std::size_t planes,
                       const WindowGeometry& g) {
  const std::size_t H = g.in_h, W = g.in_w, oh = g.out_h(), ow = g.out_w();
  const std::size_t kh = KH != 0 ? KH : g.kernel.h, kw = KW != 0 ? KW : g.kernel.w;
  const std::size_t sh = g.stride.h, sw = g.stride.w;
  const bool three_by_two = KW == 3 && fits_row_max_3s2(g);
  parallel_for(planes, [=](std::size_t, std::size_t begin, std::size_t end) {
    float row_max[kMaxPlaneRowMaxima];  // [H, OW]: each row's maxima over the windows' columns
    std::int32_t row_arg[kMaxPlaneRowMaxima];
    for (std::size_t plane = begin; plane < end; ++plane) {
      const float* in = x + plane * H * W;
      for (std::size_t a = 0; a < H; ++a) {
        const float* row = in + a * W;
        const auto first = static_cast<std::int32_t>(a * W);
        float* maxima = row_max + a * ow;
        std::int32_t* args = row_arg + a * ow;
        if (three_by_two) {
          row_max_3s2<Relu>(row, maxima, args, ow, first);
          continue;
        }
#pragma omp simd
        for (std::size_t j = 0; j < ow; ++j) {
          float best = activated<Relu>(row[j * sw]);
          auto index = first + static_cast<std::int32_t>(j * sw);
          for (std::size_t n = 1; n < kw; ++n) {
            const float v = activated<Relu>(row[j * sw + n]);
            const bool wins = v > best;
            best = wins ? v : best;
            index = wins ? first + static_cast<std::int32_t>(j * sw + n) : index;
          }
          maxima[j] = best;
          args[j] = index;
        }
      }
      for (std::size_t i = 0; i < oh; ++i) {
        column_max<KH>(row_max + i * sh * ow, row_arg + i * sh * ow, ow, kh,
                       y + (plane * oh + i) * ow, argmax + (plane * oh + i) * ow);
      }
    }
  });
}

// max_pool2d_forward, of relu(x) when Relu (relu_max_pool2d_forward).
template <bool Relu>
void pool_forward(const float* x, float* y, std::int32_t* argmax, std::size_t batch,
                  const WindowGeometry& g) {
  if (is_2x2_stride_2(g)) {
    with_chunk_widths(g, [&](auto spill, auto exact) {
      max_pool_2x2_forward<decltype(spill)::value, decltype(exact)::value, Relu>(
          x, y, argmax, batch * g.channels, g);
    });
    return;
  }
  const std::size_t oh = g.out_h(), ow = g.out_w();
  if (fits_unpadded(g)) {
    if (g.kernel == Size2{3}) {
      max_pool_unpadded<3, 3, Relu>(x, y, argmax, batch * g.channels, g);
    } else if (g.kernel == Size2{2}) {
      max_pool_unpadded<2, 2, Relu>(x, y, argmax, batch * g.channels, g);
    } else {
      max_pool_unpadded<0, 0, Relu>(x, y, argmax, batch * g.channels, g);
    }
    return;
  }
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
          float best = activated<Relu>(in[best_index]);
          for (std::ptrdiff_t a = a_begin; a < a_end; ++a) {
            for (std::ptrdiff_t b = b_begin; b < b_end; ++b) {
              const float v = activated<Relu>(in[a * W + b]);
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

// max_pool2d_backward, then relu_backward when Relu (relu_max_pool2d_backward): each window's
// gradient passes only when its output y (= relu(x) at its arg-max) is positive.
template <bool Relu>
void pool_backward(const float* dy, const float* y, const std::int32_t* argmax, float* dx,
                   std::size_t batch, const WindowGeometry& g) {
  if (is_2x2_stride_2(g)) {
    with_chunk_widths(g, [&](auto spill, auto exact) {
      max_pool_2x2_backward<decltype(spill)::value, decltype(exact)::value, Relu>(
          dy, y, argmax, dx, batch * g.channels, g);
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
      const float* out = Relu ? y + plane * out_plane : nullptr;
      const std::int32_t* arg = argmax + plane * out_plane;
      // Overlapping windows may share a winner: its gradients add up. With the ReLU, a winner's
      // windows all have the same output, relu of its value, so they all pass or all give +0,
      // the value relu_backward gives.
      // The ReLU's choice through a mask, not a branch: whether a window's output is positive
      // follows the data, and the branch GCC made of `out[k] > 0 ? grad[k] : 0` was mispredicted
      // often enough to make the seed network's 3x3/2 pool backward 12 % of its training.
      // grad & mask is grad or +0, the two values of the ternary.
      for (std::size_t k = 0; k < out_plane; ++k) {
        if constexpr (Relu) {
          const std::uint32_t mask = out[k] > 0.0f ? ~std::uint32_t{0} : 0;
          d[arg[k]] += std::bit_cast<float>(std::bit_cast<std::uint32_t>(grad[k]) & mask);
        } else {
          d[arg[k]] += grad[k];
        }
      }
    }
  });
}

}  // namespace

void max_pool2d_forward(const float* x, float* y, std::int32_t* argmax, std::size_t batch,
                        const WindowGeometry& g) {
  pool_forward<false>(x, y, argmax, batch, g);
}

void max_pool2d_backward(const float* dy, const std::int32_t* argmax, float* dx, std::size_t batch,
                         const WindowGeometry& g) {
  pool_backward<false>(dy, nullptr, argmax, dx, batch, g);
}

void relu_max_pool2d_forward(const float* x, float* y, std::int32_t* argmax, std::size_t batch,
                             const WindowGeometry& g) {
  pool_forward<true>(x, y, argmax, batch, g);
}

void relu_max_pool2d_backward(const float* dy, const float* y, const std::int32_t* argmax,
                              float* dx, std::size_t batch, const WindowGeometry& g) {
  pool_backward<true>(dy, y, argmax, dx, batch, g);
}

}  // namespace cnn::kernels
