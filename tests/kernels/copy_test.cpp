#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/kernels.hpp"

namespace cnn {
namespace {

TEST(CopyKernel, CopiesEveryValueBitForBit) {
  const std::vector<float> x = {1.5f, -0.0f, 3e-40f, -7.25f, 1e30f};
  std::vector<float> y(5, 9.0f);
  kernels::copy(x.data(), y.data(), x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(std::signbit(y[i]), std::signbit(x[i]));
    EXPECT_EQ(y[i], x[i]);
  }
}

}  // namespace
}  // namespace cnn
