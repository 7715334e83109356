// Tensor: a float32 array of rank 1 to 4 in NCHW order, contiguous, in 64-byte aligned storage.
//
// A batch is one Tensor (never a vector of per-image vectors), so kernels see one flat buffer with
// its shape, as in llm.c. Storage is reused: resizing to a shape that fits the current capacity
// does not allocate, which keeps the training loop free of allocations once it reaches steady
// state.
#pragma once

#include <array>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cnn {

// Thrown when a shape does not fit what an operation needs; the message names both shapes.
class ShapeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Up to four dimensions, stored inline so that shapes never allocate.
class Shape {
 public:
  static constexpr std::size_t kMaxRank = 4;

  Shape() = default;
  Shape(std::initializer_list<std::size_t> dims);

  std::size_t rank() const { return rank_; }
  std::size_t operator[](std::size_t axis) const;
  std::size_t& operator[](std::size_t axis);
  // Product of all dimensions (1 for rank 0).
  std::size_t numel() const;
  // "[4, 1, 28, 28]"
  std::string to_string() const;

  friend bool operator==(const Shape& a, const Shape& b);

 private:
  std::array<std::size_t, kMaxRank> dims_{};
  std::size_t rank_ = 0;
};

// Throws ShapeError "<what>: expected shape [..], got [..]" when the shapes differ.
void require_shape(const Shape& actual, const Shape& expected, std::string_view what);

class Tensor {
 public:
  static constexpr std::size_t kAlignment = 64;

  Tensor() = default;
  // Zero-filled tensor of the given shape.
  explicit Tensor(const Shape& shape);
  Tensor(const Tensor& other);
  Tensor& operator=(const Tensor& other);
  Tensor(Tensor&& other) noexcept = default;
  Tensor& operator=(Tensor&& other) noexcept = default;
  ~Tensor() = default;

  const Shape& shape() const { return shape_; }
  std::size_t size() const { return shape_.numel(); }
  std::size_t dim(std::size_t axis) const { return shape_[axis]; }
  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  float& operator[](std::size_t i) { return data_[i]; }
  float operator[](std::size_t i) const { return data_[i]; }

  // Element (n, c, h, w) of a rank-4 tensor.
  float& at(std::size_t n, std::size_t c, std::size_t h, std::size_t w);
  float at(std::size_t n, std::size_t c, std::size_t h, std::size_t w) const;

  // Gives the tensor a new shape. Allocates only when the new shape needs more elements than the
  // storage holds; contents are unspecified afterwards (callers overwrite them).
  void resize(const Shape& shape);
  // Same elements viewed with a new shape; throws ShapeError when the element counts differ.
  void reshape(const Shape& shape);
  void fill(float value);
  void zero() { fill(0.0f); }

 private:
  struct AlignedFree {
    void operator()(float* p) const;
  };
  Shape shape_;
  std::size_t capacity_ = 0;
  std::unique_ptr<float[], AlignedFree> data_;
};

}  // namespace cnn
