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

TEST(Tensor, ViewReadsAndWritesTheFloatsItIsGiven) {
  float storage[6] = {1, 2, 3, 4, 5, 6};
  Tensor v = Tensor::view(storage + 2, Shape{2, 2});
  EXPECT_TRUE(v.is_view());
  EXPECT_EQ(v.data(), storage + 2);
  EXPECT_EQ(v[0], 3.0f);
  v.fill(0.0f);
  EXPECT_EQ(storage[1], 2.0f);
  EXPECT_EQ(storage[2], 0.0f);
  EXPECT_EQ(storage[5], 0.0f);
  EXPECT_EQ(storage[4], 0.0f);
}

TEST(Tensor, AssigningToAViewCopiesIntoItsStorage) {
  float storage[3] = {};
  Tensor v = Tensor::view(storage, Shape{3});
  Tensor a(Shape{3});
  a[1] = 7.0f;
  v = a;  // copy assignment
  EXPECT_EQ(v.data(), storage);
  EXPECT_EQ(storage[1], 7.0f);
  Tensor b(Shape{3});
  b[2] = 9.0f;
  v = std::move(b);  // move assignment writes through too
  EXPECT_EQ(v.data(), storage);
  EXPECT_TRUE(v.is_view());
  EXPECT_EQ(storage[2], 9.0f);
  v = Tensor(Shape{1});  // fewer elements fit: the view shrinks, as an owned tensor would
  EXPECT_EQ(v.data(), storage);
  EXPECT_EQ(v.size(), 1u);
}

TEST(Tensor, AViewCannotGrow) {
  float storage[4] = {};
  Tensor v = Tensor::view(storage, Shape{4});
  EXPECT_NO_THROW(v.resize(Shape{2, 2}));
  EXPECT_THROW(v.resize(Shape{5}), std::logic_error);
  EXPECT_THROW(v = Tensor(Shape{8}), std::logic_error);
  EXPECT_EQ(v.data(), storage);
}

TEST(Tensor, CopyOfAViewOwnsItsValuesAndAMovedViewStaysAView) {
  float storage[2] = {1.0f, 2.0f};
  Tensor v = Tensor::view(storage, Shape{2});
  Tensor copy = v;
  EXPECT_FALSE(copy.is_view());
  EXPECT_NE(copy.data(), storage);
  copy[0] = 5.0f;
  EXPECT_EQ(storage[0], 1.0f);
  Tensor moved = std::move(v);
  EXPECT_TRUE(moved.is_view());
  EXPECT_EQ(moved.data(), storage);
  Tensor owner(Shape{2});
  owner = Tensor::view(storage, Shape{2});  // an owning tensor takes the view over
  EXPECT_TRUE(owner.is_view());
  EXPECT_EQ(owner.data(), storage);
}

TEST(Tensor, MoveToCopiesTheValuesAndBecomesAView) {
  Tensor t(Shape{2, 2});
  t[3] = 4.0f;
  alignas(64) float storage[4] = {};
  t.move_to(storage);
  EXPECT_TRUE(t.is_view());
  EXPECT_EQ(t.data(), storage);
  EXPECT_EQ(storage[3], 4.0f);
  EXPECT_EQ(t.shape(), (Shape{2, 2}));
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
