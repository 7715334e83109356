#include "cnn/core/tensor.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace cnn {

Shape::Shape(std::initializer_list<std::size_t> dims) {
  if (dims.size() > kMaxRank) {
    throw ShapeError("shape has " + std::to_string(dims.size()) + " dimensions, at most " +
                     std::to_string(kMaxRank) + " are supported");
  }
  std::copy(dims.begin(), dims.end(), dims_.begin());
  rank_ = dims.size();
}

std::size_t Shape::operator[](std::size_t axis) const {
  if (axis >= rank_) {
    throw ShapeError("axis " + std::to_string(axis) + " out of range for shape " + to_string());
  }
  return dims_[axis];
}

std::size_t& Shape::operator[](std::size_t axis) {
  if (axis >= rank_) {
    throw ShapeError("axis " + std::to_string(axis) + " out of range for shape " + to_string());
  }
  return dims_[axis];
}

std::size_t Shape::numel() const {
  std::size_t n = 1;
  for (std::size_t i = 0; i < rank_; ++i) n *= dims_[i];
  return n;
}

std::string Shape::to_string() const {
  std::string s = "[";
  for (std::size_t i = 0; i < rank_; ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(dims_[i]);
  }
  return s + "]";
}

bool operator==(const Shape& a, const Shape& b) {
  return a.rank_ == b.rank_ &&
         std::equal(a.dims_.begin(), a.dims_.begin() + a.rank_, b.dims_.begin());
}

void require_shape(const Shape& actual, const Shape& expected, std::string_view what) {
  if (!(actual == expected)) {
    throw ShapeError(std::string(what) + ": expected shape " + expected.to_string() + ", got " +
                     actual.to_string());
  }
}

void Tensor::AlignedFree::operator()(float* p) const {
  ::operator delete[](p, std::align_val_t{kAlignment});
}

Tensor::Tensor(const Shape& shape) {
  resize(shape);
  zero();
}

Tensor Tensor::view(float* data, const Shape& shape) {
  Tensor t;
  t.shape_ = shape;
  t.capacity_ = shape.numel();
  t.data_ = data;
  t.view_ = true;
  return t;
}

Tensor::Tensor(const Tensor& other) : Tensor() {
  copy_values(other);
}

Tensor& Tensor::operator=(const Tensor& other) {
  if (this != &other) copy_values(other);
  return *this;
}

Tensor& Tensor::operator=(Tensor&& other) {
  if (this == &other) return *this;
  if (view_) {
    copy_values(other);  // a view keeps referring to its storage
    return *this;
  }
  shape_ = std::exchange(other.shape_, Shape());
  capacity_ = std::exchange(other.capacity_, 0);
  owned_ = std::move(other.owned_);
  data_ = std::exchange(other.data_, nullptr);
  view_ = std::exchange(other.view_, false);
  return *this;
}

void Tensor::copy_values(const Tensor& other) {
  resize(other.shape_);
  // A view assigned a view of its own floats has nothing to copy (and memcpy must not overlap).
  if (size() > 0 && data() != other.data()) {
    std::memcpy(data(), other.data(), size() * sizeof(float));
  }
}

void Tensor::move_to(float* storage) {
  if (size() > 0) std::memcpy(storage, data(), size() * sizeof(float));
  owned_.reset();
  data_ = storage;
  capacity_ = size();
  view_ = true;
}

float& Tensor::at(std::size_t n, std::size_t c, std::size_t h, std::size_t w) {
  return data_[((n * shape_[1] + c) * shape_[2] + h) * shape_[3] + w];
}

float Tensor::at(std::size_t n, std::size_t c, std::size_t h, std::size_t w) const {
  return data_[((n * shape_[1] + c) * shape_[2] + h) * shape_[3] + w];
}

void Tensor::resize(const Shape& shape) {
  const std::size_t needed = shape.numel();
  if (needed > capacity_) {
    if (view_) {
      throw std::logic_error("cannot resize a view of " + std::to_string(capacity_) +
                             " elements to " + shape.to_string());
    }
    // Aligned operator new, so that allocation counters (and sanitizers) see tensors too.
    owned_.reset(static_cast<float*>(
        ::operator new[](needed * sizeof(float), std::align_val_t{kAlignment})));
    data_ = owned_.get();
    capacity_ = needed;
  }
  shape_ = shape;
}

void Tensor::reshape(const Shape& shape) {
  if (shape.numel() != shape_.numel()) {
    throw ShapeError("cannot reshape " + shape_.to_string() + " to " + shape.to_string() +
                     ": element counts differ");
  }
  shape_ = shape;
}

void Tensor::fill(float value) {
  std::fill(data(), data() + size(), value);
}

}  // namespace cnn
