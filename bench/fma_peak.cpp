// Prints the float32 FMA peak of one core, the reference for the fraction-of-peak figures.
#include <cstdio>

#include "fma_peak.hpp"

int main() {
  std::printf("FMA peak, one thread, %zu-float vectors: %.1f GFLOP/s\n", cnn::bench::kPeakLanes,
              cnn::bench::measure_fma_peak_gflops());
}
