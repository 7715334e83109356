#include "elementwise.hpp"
#include "kernels/kernels.hpp"

namespace cnn::kernels {

void dropout_mask(const std::uint64_t* words, float* mask, std::size_t count, double probability) {
  const auto keep = static_cast<float>(1.0 / (1.0 - probability));
  // u < threshold exactly when the 24-bit uniform u / 2^24 is below p.
  const auto threshold = static_cast<std::uint32_t>(probability * 16777216.0);
  for_each_element(count, [words, mask, keep, threshold](std::size_t i) {
    const std::uint64_t word = words[i / 2];
    const std::uint64_t u = i % 2 == 0 ? word >> 40 : (word >> 8) & 0xffffff;
    mask[i] = u >= threshold ? keep : 0.0f;
  });
}

}  // namespace cnn::kernels
