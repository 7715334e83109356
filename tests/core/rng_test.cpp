#include "cnn/core/rng.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <vector>

namespace cnn {
namespace {

TEST(Rng, SameSeedSameSequence) {
  Rng a(123), b(123), c(124);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next_u64();
    ASSERT_EQ(x, b.next_u64());
    differs = differs || x != c.next_u64();
  }
  EXPECT_TRUE(differs);
}

TEST(Rng, KnownFirstValueKeepsRunsReproducibleAcrossVersions) {
  // Pinned so that a change of algorithm, which would change every seeded result, is noticed.
  Rng rng(0);
  EXPECT_EQ(rng.next_u64(), 0x99ec5f36cb75f2b4ULL);
}

TEST(Rng, UniformAndNormalHaveTheRightMoments) {
  Rng rng(7);
  const int n = 200000;
  double su = 0, sn = 0, sn2 = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    su += u;
    const double z = rng.normal();
    sn += z;
    sn2 += z * z;
  }
  EXPECT_NEAR(su / n, 0.5, 0.005);
  EXPECT_NEAR(sn / n, 0.0, 0.01);
  EXPECT_NEAR(sn2 / n, 1.0, 0.02);
}

TEST(Rng, ShuffleIsAPermutation) {
  Rng rng(1);
  std::vector<std::uint32_t> v(1000);
  std::iota(v.begin(), v.end(), 0u);
  rng.shuffle(v);
  EXPECT_FALSE(std::is_sorted(v.begin(), v.end()));
  std::vector<std::uint32_t> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  for (std::uint32_t i = 0; i < 1000; ++i) ASSERT_EQ(sorted[i], i);
  EXPECT_THROW(rng.below(0), std::invalid_argument);
}

}  // namespace
}  // namespace cnn
