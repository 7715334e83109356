// Tensor: a float32 array of rank 1 to 4 in NCHW order, contiguous, in 64-byte aligned storage.
//
// A batch is one Tensor (never a vector of per-image vectors), so kernels see one flat buffer with
// its shape, as in llm.c. Storage is reused: resizing to a shape that fits the current capacity
// does not allocate, which keeps the training loop free of allocations once it reaches steady
// state.
//
// A tensor either owns its storage or is a view of floats owned elsewhere (a model's parameters
// are views into one block, see nn/parameter_block.hpp). A view never changes what it refers to
// by accident: assigning to it (copy or move) writes the values through into its storage, and
// resizing it beyond the elements it was given throws. Copy-constructing from a view gives an
// owning copy; move-constructing from one gives a view of the same floats.
#pragma once

#include <array>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

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
  // A view of shape.numel() floats at data, which the caller keeps alive while the view is used.
  static Tensor view(float* data, const Shape& shape);
  // Deep copy into owned storage, also of a view.
  Tensor(const Tensor& other);
  // Copies the values; a view keeps its storage (and throws std::logic_error when they do not
  // fit in it).
  Tensor& operator=(const Tensor& other);
  // Takes over other's storage (or its view), leaving other empty.
  Tensor(Tensor&& other) noexcept
      : shape_(std::exchange(other.shape_, Shape())),
        capacity_(std::exchange(other.capacity_, 0)),
        owned_(std::move(other.owned_)),
        data_(std::exchange(other.data_, nullptr)),
        view_(std::exchange(other.view_, false)) {}
  // Takes over other's storage, except that a view, like a reference, copies the values into its
  // own storage instead (not noexcept for that reason).
  Tensor& operator=(Tensor&& other);
  ~Tensor() = default;

  bool is_view() const { return view_; }
  // Copies the values to storage (size() floats, 64-byte aligned, which the caller keeps alive)
  // and makes this tensor a view of them: how a model gathers its parameters into one block.
  void move_to(float* storage);

  const Shape& shape() const { return shape_; }
  std::size_t size() const { return shape_.numel(); }
  std::size_t dim(std::size_t axis) const { return shape_[axis]; }
  float* data() { return data_; }
  const float* data() const { return data_; }
  float& operator[](std::size_t i) { return data_[i]; }
  float operator[](std::size_t i) const { return data_[i]; }

  // Element (n, c, h, w) of a rank-4 tensor.
  float& at(std::size_t n, std::size_t c, std::size_t h, std::size_t w);
  float at(std::size_t n, std::size_t c, std::size_t h, std::size_t w) const;

  // Gives the tensor a new shape. Allocates only when the new shape needs more elements than the
  // storage holds; contents are unspecified afterwards (callers overwrite them). A view cannot
  // grow: it throws std::logic_error instead of allocating.
  void resize(const Shape& shape);
  // Same elements viewed with a new shape; throws ShapeError when the element counts differ.
  void reshape(const Shape& shape);
  void fill(float value);
  void zero() { fill(0.0f); }

 private:
  struct AlignedFree {
    void operator()(float* p) const;
  };
  void copy_values(const Tensor& other);

  Shape shape_;
  std::size_t capacity_ = 0;
  std::unique_ptr<float[], AlignedFree> owned_;  // null for a view
  float* data_ = nullptr;                        // owned_.get(), or the viewed floats
  bool view_ = false;
};

}  // namespace cnn
