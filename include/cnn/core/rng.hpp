// Rng: the project's one source of randomness, seeded explicitly.
//
// The algorithm (xoshiro256** seeded through splitmix64) and the normal and integer draws are
// written out here rather than taken from <random>, whose distributions differ between standard
// libraries: the same seed gives the same weights and the same data order everywhere.
//
// Keys (image_key, mix_key) name the random numbers of one image rather than a place in a stream:
// training draws image n's augmentation and dropout masks from Rng(mix_key(key_n, salt)), so they
// depend on (seed, epoch, image index, layer) alone, not on which other images share the batch,
// at which position, or on which process of a data-parallel run (issue 14).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace cnn {

// The key of image `image` (its index in the dataset) in epoch `epoch` of a run seeded `seed`:
//   image_key = mix_key(mix_key(mix_key(0, seed), epoch), image).
// Changing any one argument always changes the key (mix_key is a bijection of either argument
// when the other is fixed), so the images of one epoch never share a key; two triples that differ
// in more than one argument share one with probability about 2^-64.
std::uint64_t image_key(std::uint64_t seed, std::uint64_t epoch, std::uint64_t image);

// A key derived from `key` for one use of it, told apart by `salt`:
//   mix_key(key, salt) = f(key XOR f(salt + 0xd1b54a32d192ed03)),
// f the splitmix64 finalizer (Stafford's "Mix13": z ^= z >> 30; z *= 0xbf58476d1ce4e5b9;
// z ^= z >> 27; z *= 0x94d049bb133111eb; z ^= z >> 31), a bijection of 64-bit words in which
// every input bit flips every output bit with probability near 1/2. Mixing the salt first keeps
// related salts (0, 1, 2, ...) from giving related keys. Training's salts: kAugmentationSalt for
// an image's augmentation, layer_salt(i) for layer i of the model.
std::uint64_t mix_key(std::uint64_t key, std::uint64_t salt);
inline constexpr std::uint64_t kAugmentationSalt = 0;
constexpr std::uint64_t layer_salt(std::size_t layer) {
  return 1 + static_cast<std::uint64_t>(layer);
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0);

  std::uint64_t next_u64();
  // Uniform in [0, 1).
  double uniform();
  // Standard normal (Box-Muller; both values of a pair are used).
  double normal();
  // Uniform integer in [0, n), without modulo bias. n must be > 0.
  std::uint64_t below(std::uint64_t n);
  // Fisher-Yates shuffle.
  void shuffle(std::span<std::uint32_t> values);

  // The whole generator state, so a checkpoint can continue the same sequence of draws.
  struct State {
    std::array<std::uint64_t, 4> words{};
    double spare_normal = 0.0;
    bool has_spare = false;
  };
  State state() const;
  void set_state(const State& state);

 private:
  std::uint64_t state_[4];
  double spare_normal_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace cnn
