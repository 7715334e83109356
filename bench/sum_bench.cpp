// The cost of the data-parallel step's one sum of the gradient block (docs/scale-out.md), alone:
// MpiProcessGroup::sum over a block of each preset's size, repeated, the processes lined up by a
// barrier-like small sum before each timing so that waiting for a slower process is not counted.
//
// usage: mpirun -np N build/bench/sum_bench [REPEATS]      (REPEATS: default 200)
// Prints, on rank 0, microseconds per sum for blocks of 31,744 (seed), 61,952 (lenet5) and
// 432,640 (best) floats: the padded gradient blocks of the presets.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cnn/mpi/mpi_process_group.hpp"

int main(int argc, char** argv) {
  if (!cnn::launched_by_mpi()) {
    std::fprintf(stderr, "sum_bench: start it with mpirun -np N (it measures MPI sums)\n");
    return 2;
  }
  cnn::MpiSession session(argc, argv);
  cnn::ProcessGroup& group = session.group();
  const int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 200;
  for (const std::size_t floats : {31744u, 61952u, 432640u}) {
    std::vector<float> block(floats, 1.0f / static_cast<float>(group.rank() + 1));
    std::vector<double> line_up(1);
    double total = 0.0;
    for (int r = 0; r < repeats; ++r) {
      group.sum(line_up);
      const auto start = std::chrono::steady_clock::now();
      group.sum(block);
      total += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    if (group.rank() == 0) {
      std::printf("%zu processes, %zu floats (%.0f kB): %.1f us per sum\n", group.size(), floats,
                  static_cast<double>(floats) * 4 / 1000, 1e6 * total / repeats);
    }
  }
  return 0;
}
