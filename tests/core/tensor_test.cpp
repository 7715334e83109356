#include "cnn/core/tensor.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace cnn {
namespace {

TEST(Tensor, ZeroFilledAlignedContiguous) {
  Tensor t(Shape{2, 3, 4, 5});
  EXPECT_EQ(t.size(), 120u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data()) % 64, 0u);
  for (std::size_t i = 0; i < t.size(); ++i) ASSERT_EQ(t[i], 0.0f);
  t.at(1, 2, 3, 4) = 7.0f;
  EXPECT_EQ(t[119], 7.0f);
  t.at(0, 1, 0, 2) = 3.0f;
  EXPECT_EQ(t[22], 3.0f);
}

TEST(Tensor, ResizeReusesStorageWhenItFits) {
  Tensor t(Shape{64, 10});
  const float* before = t.data();
  t.resize(Shape{4, 10});
  EXPECT_EQ(t.data(), before);
  t.resize(Shape{64, 10});
  EXPECT_EQ(t.data(), before);
  t.resize(Shape{65, 10});
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data()) % 64, 0u);
}

TEST(Tensor, CopyIsDeep) {
  Tensor a(Shape{3});
  a[1] = 2.0f;
  Tensor b = a;
  b[1] = 5.0f;
  EXPECT_EQ(a[1], 2.0f);
  EXPECT_EQ(b.shape(), a.shape());
}

TEST(Tensor, ShapeErrorsNameBothShapes) {
  try {
    require_shape(Shape{4, 3}, Shape{4, 10}, "logits");
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(), "logits: expected shape [4, 10], got [4, 3]");
  }
  Tensor t(Shape{2, 6});
  EXPECT_NO_THROW(t.reshape(Shape{3, 4}));
  EXPECT_THROW(t.reshape(Shape{5, 3}), ShapeError);
  EXPECT_THROW((Shape{1, 2, 3, 4, 5}), ShapeError);
}

}  // namespace
}  // namespace cnn
