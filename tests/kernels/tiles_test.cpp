// The register tiles' inline helpers (src/kernels/tiles.hpp), compiled for the kernels' instruction
// set (tests/CMakeLists.txt), so that the vector width checked is the one the kernels use.
#include "kernels/tiles.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>

#include "cnn/core/rng.hpp"

namespace cnn::kernels::tiles {
namespace {

// Values of many magnitudes and both signs, so that adding them in another order would round
// differently; and the zeros whose sign an addition from +0 loses.
Vec awkward_vector(Rng& rng, std::size_t which) {
  Vec v{};
  for (std::size_t l = 0; l < kLanes; ++l) {
    const double magnitude = std::pow(10.0, rng.uniform() * 16 - 8);
    v[l] = static_cast<float>(rng.uniform() < 0.5 ? -magnitude : magnitude);
  }
  if (which % 5 == 1) v[0] = -0.0f;
  if (which % 5 == 2) {
    for (std::size_t l = 0; l < kLanes; ++l) v[l] = -0.0f;  // +0 + −0 is +0: the sum is +0
  }
  if (which % 5 == 3) v[kLanes - 1] = std::ldexp(1.0f, 60);
  return v;
}

TEST(Tiles, SumLanesOfEqualsSumLanesBitForBit) {
  Rng rng(11);
  for (std::size_t round = 0; round < 200; ++round) {
    Vec group[kLanes], copy[kLanes];
    for (std::size_t i = 0; i < kLanes; ++i) group[i] = copy[i] = awkward_vector(rng, round + i);
    const Vec totals = sum_lanes_of(copy);
    for (std::size_t i = 0; i < kLanes; ++i) {
      EXPECT_EQ(std::bit_cast<std::uint32_t>(totals[i]),
                std::bit_cast<std::uint32_t>(sum_lanes(group[i])))
          << "round " << round << ", vector " << i << " of " << kLanes;
    }
  }
}

TEST(Tiles, TransposeStepsGiveTheTranspose) {
  Vec m[kLanes];
  for (std::size_t i = 0; i < kLanes; ++i) {
    for (std::size_t j = 0; j < kLanes; ++j) m[i][j] = static_cast<float>(i * 100 + j);
  }
  constexpr auto lanes = std::make_index_sequence<kLanes>{};
  transpose_step<1>(m, lanes);
  if constexpr (kLanes >= 4) transpose_step<2>(m, lanes);
  if constexpr (kLanes >= 8) transpose_step<4>(m, lanes);
  if constexpr (kLanes >= 16) transpose_step<8>(m, lanes);
  for (std::size_t i = 0; i < kLanes; ++i) {
    for (std::size_t j = 0; j < kLanes; ++j) {
      EXPECT_EQ(m[i][j], static_cast<float>(j * 100 + i)) << i << "," << j;
    }
  }
}

}  // namespace
}  // namespace cnn::kernels::tiles
