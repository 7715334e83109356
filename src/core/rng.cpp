#include "cnn/core/rng.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <utility>

namespace cnn {

namespace {

// The splitmix64 finalizer (see mix_key in the header).
std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t splitmix64(std::uint64_t& x) {
  return mix64(x += 0x9e3779b97f4a7c15ULL);
}

std::uint64_t rotl(std::uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

}  // namespace

std::uint64_t mix_key(std::uint64_t key, std::uint64_t salt) {
  // An odd constant with well-spread bits; not splitmix64's increment, so that salts and Rng's
  // seeding do not walk the same sequence of words.
  return mix64(key ^ mix64(salt + 0xd1b54a32d192ed03ULL));
}

std::uint64_t image_key(std::uint64_t seed, std::uint64_t epoch, std::uint64_t image) {
  return mix_key(mix_key(mix_key(0, seed), epoch), image);
}

Rng::Rng(std::uint64_t seed) {
  // splitmix64 spreads any seed, 0 included, over the whole 256-bit state.
  for (auto& s : state_) s = splitmix64(seed);
}

std::uint64_t Rng::next_u64() {
  // xoshiro256** (Blackman and Vigna).
  const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const std::uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return result;
}

double Rng::uniform() {
  // The top 53 bits give every double in [0, 1) on a 2^-53 grid.
  return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_normal_;
  }
  // Box-Muller; 1 - uniform() lies in (0, 1], so the logarithm is finite.
  const double radius = std::sqrt(-2.0 * std::log(1.0 - uniform()));
  const double angle = 2.0 * std::numbers::pi * uniform();
  spare_normal_ = radius * std::sin(angle);
  has_spare_ = true;
  return radius * std::cos(angle);
}

std::uint64_t Rng::below(std::uint64_t n) {
  if (n == 0) throw std::invalid_argument("Rng::below: n must be positive");
  // Rejection sampling: drop the top partial range so every value is equally likely.
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  std::uint64_t x = next_u64();
  while (x >= limit) x = next_u64();
  return x % n;
}

Rng::State Rng::state() const {
  return {{state_[0], state_[1], state_[2], state_[3]}, spare_normal_, has_spare_};
}

void Rng::set_state(const State& state) {
  for (std::size_t i = 0; i < 4; ++i) state_[i] = state.words[i];
  spare_normal_ = state.spare_normal;
  has_spare_ = state.has_spare;
}

void Rng::shuffle(std::span<std::uint32_t> values) {
  for (std::size_t i = values.size(); i > 1; --i) {
    std::swap(values[i - 1], values[below(i)]);
  }
}

}  // namespace cnn
