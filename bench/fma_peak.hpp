// Measures one core's float32 FMA throughput: enough independent accumulators to hide the FMA
// latency, no memory traffic. The figure the layer benchmarks compare themselves with.
#pragma once

#include <chrono>
#include <cstddef>

namespace cnn::bench {

#if defined(__AVX512F__)
constexpr std::size_t kPeakLanes = 16;
#elif defined(__AVX__)
constexpr std::size_t kPeakLanes = 8;
#else
constexpr std::size_t kPeakLanes = 4;
#endif

// GFLOP/s (an FMA counts as 2 FLOPs) of one thread, best of a few short runs.
inline double measure_fma_peak_gflops() {
  using Vec = float __attribute__((vector_size(kPeakLanes * sizeof(float))));
  constexpr std::size_t kChains = 12;  // ≥ latency × FMA units on current x86 cores
  const std::size_t steps = 20'000'000 / kPeakLanes;
  double best = 0.0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    Vec acc[kChains];
    for (std::size_t c = 0; c < kChains; ++c) acc[c] = Vec{} + 1.0f + static_cast<float>(c);
    const Vec scale = Vec{} + 0.999999f, shift = Vec{} + 1e-7f;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t s = 0; s < steps; ++s) {
      for (std::size_t c = 0; c < kChains; ++c) acc[c] = acc[c] * scale + shift;
      asm volatile("" : "+x"(acc[0]));  // keeps the loop from being folded away
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    float sink = 0;
    for (std::size_t c = 0; c < kChains; ++c) sink += acc[c][0];
    asm volatile("" ::"x"(sink));
    const double gflops = 2.0 * kChains * kPeakLanes * static_cast<double>(steps) / seconds / 1e9;
    if (gflops > best) best = gflops;
  }
  return best;
}

}  // namespace cnn::bench
