// Rng: the project's one source of randomness, seeded explicitly.
//
// The algorithm (xoshiro256** seeded through splitmix64) and the normal and integer draws are
// written out here rather than taken from <random>, whose distributions differ between standard
// libraries: the same seed gives the same weights and the same data order everywhere.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace cnn {

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0);

  std::uint64_t next_u64();
  // Uniform in [0, 1).
  double uniform();
  // Standard normal (Box-Muller; both values of a pair are used).
  double normal();
  // Uniform integer in [0, n), without modulo bias. n must be > 0.
  std::uint64_t below(std::uint64_t n);
  // Fisher-Yates shuffle.
  void shuffle(std::span<std::uint32_t> values);

  // The whole generator state, so a checkpoint can continue the same sequence of draws.
  struct State {
    std::array<std::uint64_t, 4> words{};
    double spare_normal = 0.0;
    bool has_spare = false;
  };
  State state() const;
  void set_state(const State& state);

 private:
  std::uint64_t state_[4];
  double spare_normal_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace cnn
