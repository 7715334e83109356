#include "cnn/data/augment.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cnn/core/parallel.hpp"
#include "gradient_check.hpp"
#include "kernels/kernels.hpp"

namespace cnn {
namespace {

// Keys of images 0..N-1 of epoch 1 of a run seeded seed, as training makes them.
std::vector<std::uint64_t> keys_for(std::uint64_t seed, std::size_t batch) {
  std::vector<std::uint64_t> keys(batch);
  for (std::size_t n = 0; n < batch; ++n) keys[n] = image_key(seed, 1, n);
  return keys;
}

TEST(AffineWarp, IdentityAndWholePixelShifts) {
  const Tensor x = testing::random_tensor(Shape{2, 1, 5, 6}, 1, 0.0f, 1.0f);
  Tensor y(x.shape());
  const float identity[12] = {1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0};
  kernels::affine_warp(x.data(), y.data(), identity, nullptr, 2, 1, 5, 6);
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(y[i], x[i]);
  // Reading from column j − 1 and row i + 2 shifts the image right by one and up by two.
  const float shift[12] = {1, 0, -1, 0, 1, 2, 1, 0, -1, 0, 1, 2};
  kernels::affine_warp(x.data(), y.data(), shift, nullptr, 2, 1, 5, 6);
  for (std::size_t i = 0; i < 5; ++i) {
    for (std::size_t j = 0; j < 6; ++j) {
      const float expected = (j >= 1 && i + 2 < 5) ? x.at(1, 0, i + 2, j - 1) : 0.0f;
      EXPECT_EQ(y.at(1, 0, i, j), expected) << i << "," << j;
    }
  }
}

TEST(AffineWarp, HalfPixelShiftAveragesNeighbours) {
  Tensor x(Shape{1, 1, 1, 3}), y(x.shape());
  x[0] = 0, x[1] = 2, x[2] = 4;
  const float half[6] = {1, 0, 0.5f, 0, 1, 0};
  kernels::affine_warp(x.data(), y.data(), half, nullptr, 1, 1, 1, 3);
  EXPECT_FLOAT_EQ(y[0], 1.0f);
  EXPECT_FLOAT_EQ(y[1], 3.0f);
  EXPECT_FLOAT_EQ(y[2], 2.0f);  // half of the last pixel, half of the zero outside
}

TEST(AffineWarp, DisplacementFieldIsAddedToTheSourcePosition) {
  const Tensor x = testing::random_tensor(Shape{1, 2, 4, 5}, 3, 0.0f, 1.0f);
  Tensor y(x.shape());
  const float identity[6] = {1, 0, 0, 0, 1, 0};
  // Δu = −1 everywhere and Δv = +1 at pixel (2, 3) only: every pixel reads its left neighbour,
  // pixel (2, 3) the one below-left, for both channels.
  Tensor displacement(Shape{1, 2, 4, 5});
  displacement.zero();
  for (std::size_t k = 0; k < 20; ++k) displacement[k] = -1.0f;
  displacement.at(0, 1, 2, 3) = 1.0f;
  kernels::affine_warp(x.data(), y.data(), identity, displacement.data(), 1, 2, 4, 5);
  for (std::size_t c = 0; c < 2; ++c) {
    for (std::size_t i = 0; i < 4; ++i) {
      for (std::size_t j = 0; j < 5; ++j) {
        const std::size_t row = (i == 2 && j == 3) ? 3 : i;
        const float expected = j >= 1 ? x.at(0, c, row, j - 1) : 0.0f;
        EXPECT_EQ(y.at(0, c, i, j), expected) << c << ":" << i << "," << j;
      }
    }
  }
}

TEST(SmoothPlanes, SpreadsAPointByTheFilterAndKeepsZeroOutside) {
  // A unit point at (2, 3) of a 5x7 plane, filter (1, 2, 1)/4, gain 8: the result is
  // 8 · outer((1,2,1)/4, (1,2,1)/4) around the point. A constant plane keeps gain · value inside
  // and loses the taps that fall outside at the border.
  Tensor x(Shape{2, 1, 5, 7}), y(x.shape()), scratch(x.shape());
  x.zero();
  x.at(0, 0, 2, 3) = 1.0f;
  for (std::size_t k = 35; k < 70; ++k) x[k] = 1.0f;
  const float taps[3] = {0.25f, 0.5f, 0.25f};
  kernels::smooth_planes(x.data(), y.data(), scratch.data(), taps, 1, 8.0f, 2, 5, 7);
  for (std::size_t i = 0; i < 5; ++i) {
    for (std::size_t j = 0; j < 7; ++j) {
      const auto tap = [&](std::size_t a, std::size_t centre) {
        return a + 1 >= centre && a <= centre + 1 ? taps[a + 1 - centre] : 0.0f;
      };
      EXPECT_FLOAT_EQ(y[i * 7 + j], 8.0f * tap(i, 2) * tap(j, 3)) << i << "," << j;
    }
  }
  EXPECT_FLOAT_EQ(y[35 + 2 * 7 + 3], 8.0f);
  EXPECT_FLOAT_EQ(y[35 + 0 * 7 + 3], 6.0f);  // top row: the tap above is outside
  EXPECT_FLOAT_EQ(y[35 + 0], 4.5f);          // corner: 8 · 0.75 · 0.75
}

// The displacement an elastic-only augmenter applied to each pixel, read back from images whose
// value is their column (or row) index: bilinear resampling of a linear ramp returns the source
// position itself. Only pixels far enough from the border that the source stays inside.
struct Displacements {
  std::vector<float> du, dv;
};
Displacements measured_displacements(const AugmentOptions& options, std::uint64_t seed,
                                     std::size_t batch, std::size_t size, std::size_t margin) {
  Tensor columns(Shape{batch, 1, size, size}), rows(columns.shape());
  for (std::size_t n = 0; n < batch; ++n) {
    for (std::size_t i = 0; i < size; ++i) {
      for (std::size_t j = 0; j < size; ++j) {
        columns.at(n, 0, i, j) = static_cast<float>(j);
        rows.at(n, 0, i, j) = static_cast<float>(i);
      }
    }
  }
  // The same keys draw the same fields for both ramps.
  Augmenter augmenter(options);
  augmenter.apply(columns, keys_for(seed, batch));
  augmenter.apply(rows, keys_for(seed, batch));
  Displacements d;
  for (std::size_t n = 0; n < batch; ++n) {
    for (std::size_t i = margin; i + margin < size; ++i) {
      for (std::size_t j = margin; j + margin < size; ++j) {
        d.du.push_back(columns.at(n, 0, i, j) - static_cast<float>(j));
        d.dv.push_back(rows.at(n, 0, i, j) - static_cast<float>(i));
      }
    }
  }
  return d;
}

double root_mean_square(const std::vector<float>& values) {
  double sum = 0.0;
  for (const float v : values) sum += static_cast<double>(v) * v;
  return std::sqrt(sum / static_cast<double>(values.size()));
}

TEST(Augmenter, ElasticDistortionIsSmoothAndOfTheExpectedSize) {
  // α = 34, σ = 4 (Simard et al.'s values for 28x28 digits): uniform noise of variance 1/3
  // smoothed by a normalised 2-D Gaussian has standard deviation sqrt(1/3 · 1/(4πσ²)) inside the
  // image, so each displacement component has a spread of about 34 · 0.0407 = 1.38 pixels.
  AugmentOptions options;
  options.elastic_alpha = 34.0;
  options.elastic_sigma = 4.0;
  const std::size_t size = 40, margin = 12;
  const Displacements d = measured_displacements(options, 7, 16, size, margin);
  EXPECT_NEAR(root_mean_square(d.du), 1.38, 0.3);
  EXPECT_NEAR(root_mean_square(d.dv), 1.38, 0.3);
  // Smooth: neighbouring pixels move nearly alike. Independent noise of the same spread would
  // differ between neighbours by sqrt(2) times the spread; a field smoothed over σ = 4 pixels by
  // about spread / (σ·sqrt(2)).
  const std::size_t inner = size - 2 * margin;
  double step = 0.0;
  std::size_t steps = 0;
  for (std::size_t k = 0; k + 1 < d.du.size(); ++k) {
    if ((k + 1) % inner == 0) continue;  // the next value starts a new row
    step += std::abs(d.du[k + 1] - d.du[k]);
    ++steps;
  }
  EXPECT_LT(step / static_cast<double>(steps), 0.35 * root_mean_square(d.du));
}

TEST(Augmenter, ElasticDistortionDependsOnTheKeysNotOnTheThreads) {
  AugmentOptions options{1.0, 5.0, 0.05};
  options.elastic_alpha = 20.0;
  options.elastic_sigma = 3.0;
  const Tensor x = testing::random_tensor(Shape{6, 1, 16, 16}, 4, 0.0f, 1.0f);
  Tensor one = x, two = x, other = x, rigid = x;
  set_num_threads(1);
  Augmenter(options).apply(one, keys_for(9, 6));
  set_num_threads(2);
  Augmenter(options).apply(two, keys_for(9, 6));
  Augmenter(options).apply(other, keys_for(10, 6));
  AugmentOptions affine_only = options;
  affine_only.elastic_alpha = 0.0;
  Augmenter(affine_only).apply(rigid, keys_for(9, 6));
  set_num_threads(1);
  bool differs = false, bent = false;
  for (std::size_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(one[i], two[i]);
    differs = differs || one[i] != other[i];
    bent = bent || one[i] != rigid[i];
  }
  EXPECT_TRUE(differs);
  EXPECT_TRUE(bent);
  EXPECT_TRUE(AugmentOptions{.elastic_alpha = 1.0}.enabled());
}

TEST(Augmenter, SameKeysSameImagesOtherKeysOtherImages) {
  const Tensor x = testing::random_tensor(Shape{4, 1, 12, 12}, 2, 0.0f, 1.0f);
  const AugmentOptions options{2.0, 10.0, 0.1};
  Tensor a = x, b = x, c = x;
  Augmenter augmenter(options);
  augmenter.apply(a, keys_for(5, 4));
  augmenter.apply(b, keys_for(5, 4));
  augmenter.apply(c, keys_for(6, 4));
  bool moved = false, differs = false;
  for (std::size_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(a[i], b[i]);
    moved = moved || a[i] != x[i];
    differs = differs || a[i] != c[i];
  }
  EXPECT_TRUE(moved);
  EXPECT_TRUE(differs);
}

TEST(Augmenter, AnImagesMoveDependsOnItsKeyNotOnTheBatchAroundIt) {
  // What data-parallel training needs: image c moves alike in batch [a, b, c] and alone, affine
  // moves and elastic distortion both, whatever the thread count.
  AugmentOptions options{2.0, 15.0, 0.1};
  options.elastic_alpha = 20.0;
  options.elastic_sigma = 3.0;
  const Tensor x = testing::random_tensor(Shape{3, 1, 16, 16}, 8, 0.0f, 1.0f);
  const std::vector<std::uint64_t> keys = {image_key(3, 2, 40), image_key(3, 2, 41),
                                           image_key(3, 2, 7)};
  const std::size_t per_image = 16 * 16;
  Tensor whole = x;
  set_num_threads(2);
  Augmenter augmenter(options);
  augmenter.apply(whole, keys);
  set_num_threads(1);
  Tensor alone(Shape{1, 1, 16, 16});
  std::copy(x.data() + 2 * per_image, x.data() + 3 * per_image, alone.data());
  augmenter.apply(alone, std::span(keys).subspan(2));
  bool moved = false;
  for (std::size_t i = 0; i < per_image; ++i) {
    ASSERT_EQ(alone[i], whole[2 * per_image + i]) << i;
    moved = moved || alone[i] != x[2 * per_image + i];
  }
  EXPECT_TRUE(moved);
  // Image c first in a batch of three, with its key, moves as it did alone: the position does
  // not matter either.
  Tensor swapped = x;
  const std::vector<std::uint64_t> c_first = {keys[2], keys[1], keys[0]};
  std::copy(x.data() + 2 * per_image, x.data() + 3 * per_image, swapped.data());
  augmenter.apply(swapped, c_first);
  for (std::size_t i = 0; i < per_image; ++i) ASSERT_EQ(swapped[i], alone[i]) << i;
}

TEST(Augmenter, AllChannelsOfAnImageMoveAlike) {
  // A colour batch whose three planes are copies of one grey plane: affine moves and elastic
  // distortion give three identical planes, each what the grey image alone gives with the same
  // key (so the same map bends every channel, and no channel draws its own).
  AugmentOptions options{2.0, 15.0, 0.1};
  options.elastic_alpha = 20.0;
  options.elastic_sigma = 3.0;
  const std::size_t batch = 3, height = 14, width = 17, plane = height * width;
  const Tensor grey = testing::random_tensor(Shape{batch, 1, height, width}, 11, 0.0f, 1.0f);
  Tensor colour(Shape{batch, 3, height, width});
  for (std::size_t n = 0; n < batch; ++n) {
    for (std::size_t c = 0; c < 3; ++c) {
      std::copy(grey.data() + n * plane, grey.data() + (n + 1) * plane,
                colour.data() + (n * 3 + c) * plane);
    }
  }
  Tensor moved_grey = grey;
  Augmenter(options).apply(moved_grey, keys_for(4, batch));
  set_num_threads(2);
  Augmenter(options).apply(colour, keys_for(4, batch));
  set_num_threads(1);
  bool moved = false;
  for (std::size_t n = 0; n < batch; ++n) {
    for (std::size_t c = 0; c < 3; ++c) {
      for (std::size_t k = 0; k < plane; ++k) {
        ASSERT_EQ(colour[(n * 3 + c) * plane + k], moved_grey[n * plane + k])
            << "image " << n << " channel " << c << " pixel " << k;
      }
    }
    for (std::size_t k = 0; k < plane; ++k) {
      moved = moved || moved_grey[n * plane + k] != grey[n * plane + k];
    }
  }
  EXPECT_TRUE(moved);
}

TEST(Augmenter, RejectsBadAmountsAndShapes) {
  EXPECT_THROW(Augmenter({-1.0, 0.0, 0.0}), std::invalid_argument);
  EXPECT_THROW(Augmenter({0.0, 0.0, 1.0}), std::invalid_argument);
  EXPECT_THROW(Augmenter({0.0, 200.0, 0.0}), std::invalid_argument);
  EXPECT_THROW(Augmenter({0.0, 0.0, 0.0, -1.0, 4.0}), std::invalid_argument);
  EXPECT_THROW(Augmenter({0.0, 0.0, 0.0, 2000.0, 4.0}), std::invalid_argument);
  EXPECT_THROW(Augmenter({0.0, 0.0, 0.0, 10.0, 0.1}), std::invalid_argument);
  EXPECT_THROW(Augmenter({0.0, 0.0, 0.0, 10.0, 30.0}), std::invalid_argument);
  Augmenter augmenter({1.0, 0.0, 0.0});
  Tensor flat(Shape{2, 784});
  EXPECT_THROW(augmenter.apply(flat, keys_for(1, 2)), ShapeError);
  Tensor images(Shape{3, 1, 4, 4});
  images.zero();
  try {
    augmenter.apply(images, keys_for(1, 2));
    FAIL() << "2 keys for 3 images were accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("2 image keys for a batch of 3 images"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(AugmentOptions{}.enabled());
  EXPECT_THROW(Augmenter(AugmentOptions{.erase = -0.1}), std::invalid_argument);
  EXPECT_THROW(Augmenter(AugmentOptions{.erase = 1.5}), std::invalid_argument);
}

TEST(Augmenter, FlipMirrorsAboutHalfTheImagesExactly) {
  const std::size_t batch = 64, height = 5, width = 7;
  const Tensor x = testing::random_tensor(Shape{batch, 2, height, width}, 21, 0.0f, 1.0f);
  Tensor y = x;
  Augmenter(AugmentOptions{.flip = true}).apply(y, keys_for(9, batch));
  std::size_t mirrored = 0;
  for (std::size_t n = 0; n < batch; ++n) {
    bool same = true, mirror = true;
    for (std::size_t c = 0; c < 2; ++c) {
      for (std::size_t i = 0; i < height; ++i) {
        for (std::size_t j = 0; j < width; ++j) {
          const float out = y.at(n, c, i, j);
          same = same && out == x.at(n, c, i, j);
          mirror = mirror && out == x.at(n, c, i, width - 1 - j);
        }
      }
    }
    ASSERT_TRUE(same || mirror) << "image " << n << " is neither itself nor its mirror image";
    mirrored += mirror ? 1 : 0;
  }
  // A fair coin per image: 64 throws land within 16..48 heads but for odds of about 1e-4.
  EXPECT_GE(mirrored, 16u);
  EXPECT_LE(mirrored, 48u);
}

TEST(Augmenter, FlipAndErasingLeaveTheOtherMovesAsTheyWere) {
  // The flip coin and the erasing draws come after the affine and elastic draws, so a recipe's
  // moves are those it had before the new options existed: on the images that were not mirrored
  // and not erased, the result is that of the affine move alone.
  AugmentOptions affine{2.0, 10.0, 0.1};
  affine.elastic_alpha = 10.0;
  AugmentOptions with_flip = affine;
  with_flip.flip = true;
  const std::size_t batch = 16, plane = 12 * 12;
  const Tensor x = testing::random_tensor(Shape{batch, 1, 12, 12}, 5, 0.0f, 1.0f);
  Tensor a = x, b = x;
  Augmenter(affine).apply(a, keys_for(3, batch));
  Augmenter(with_flip).apply(b, keys_for(3, batch));
  std::size_t unchanged = 0;
  for (std::size_t n = 0; n < batch; ++n) {
    unchanged +=
        std::equal(a.data() + n * plane, a.data() + (n + 1) * plane, b.data() + n * plane) ? 1 : 0;
  }
  EXPECT_GT(unchanged, 0u);
  EXPECT_LT(unchanged, batch);
}

TEST(Augmenter, ErasingFillsOneRectangleWithValuesOfTheImagesRange) {
  const std::size_t batch = 200, channels = 3, height = 20, width = 16;
  const std::size_t plane = height * width;
  const Tensor x = testing::random_tensor(Shape{batch, channels, height, width}, 7, -1.0f, 2.0f);
  Tensor y = x;
  set_num_threads(2);
  Augmenter(AugmentOptions{.erase = 0.5}).apply(y, keys_for(2, batch));
  set_num_threads(1);
  Tensor z = x;
  Augmenter(AugmentOptions{.erase = 0.5}).apply(z, keys_for(2, batch));
  std::size_t erased = 0;
  for (std::size_t n = 0; n < batch; ++n) {
    const float* in = x.data() + n * channels * plane;
    const float* out = y.data() + n * channels * plane;
    ASSERT_TRUE(std::equal(out, out + channels * plane, z.data() + n * channels * plane))
        << "image " << n << " depends on the thread count";
    const auto [lo, hi] = std::minmax_element(in, in + channels * plane);
    // The changed pixels: the same set in every channel, and a rectangle.
    std::size_t top = height, bottom = 0, left = width, right = 0, changed = 0;
    for (std::size_t i = 0; i < height; ++i) {
      for (std::size_t j = 0; j < width; ++j) {
        const bool differs = out[i * width + j] != in[i * width + j];
        for (std::size_t c = 1; c < channels; ++c) {
          ASSERT_EQ(out[c * plane + i * width + j] != in[c * plane + i * width + j], differs);
        }
        for (std::size_t c = 0; c < channels; ++c) {
          ASSERT_GE(out[c * plane + i * width + j], *lo);
          ASSERT_LE(out[c * plane + i * width + j], *hi);
        }
        if (!differs) continue;
        ++changed;
        top = std::min(top, i), bottom = std::max(bottom, i);
        left = std::min(left, j), right = std::max(right, j);
      }
    }
    if (changed == 0) continue;
    ++erased;
    const std::size_t box = (bottom - top + 1) * (right - left + 1);
    EXPECT_EQ(changed, box) << "image " << n << ": the changed pixels are not a rectangle";
    // 2% to 40% of the area, allowing for rounding of the sides and the cut to the image.
    EXPECT_GE(box, plane / 100) << n;
    EXPECT_LE(box, plane / 2) << n;
  }
  // Probability 1/2 for each of 200 images.
  EXPECT_GT(erased, 70u);
  EXPECT_LT(erased, 130u);
}

}  // namespace
}  // namespace cnn
