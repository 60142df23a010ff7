#include "core/counter_rng.h"

#include <cmath>

namespace pic {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Philox-4x32 with 10 rounds; constants from the Random123 paper.
std::array<uint32_t, 4> philox4x32(std::array<uint32_t, 4> ctr, uint64_t key64) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  uint32_t k0 = static_cast<uint32_t>(key64), k1 = static_cast<uint32_t>(key64 >> 32);
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = static_cast<uint64_t>(kMul0) * ctr[0];
    uint64_t p1 = static_cast<uint64_t>(kMul1) * ctr[2];
    ctr = {static_cast<uint32_t>(p1 >> 32) ^ ctr[1] ^ k0, static_cast<uint32_t>(p1),
           static_cast<uint32_t>(p0 >> 32) ^ ctr[3] ^ k1, static_cast<uint32_t>(p0)};
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return ctr;
}

}  // namespace

uint64_t hash_key(std::initializer_list<uint64_t> words) {
  uint64_t h = 0x243F6A8885A308D3ull;  // pi, so that an empty key is not zero
  for (uint64_t w : words) h = splitmix64(h ^ splitmix64(w));
  return h;
}

void CounterRng::refill() {
  const std::array<uint32_t, 4> counter{static_cast<uint32_t>(counter_),
                                         static_cast<uint32_t>(counter_ >> 32), 0, 0};
  block_ = philox4x32(counter, key_);
  ++counter_;
  used_ = 0;
}

uint32_t CounterRng::next_u32() {
  if (used_ == 4) refill();
  return block_[used_++];
}

uint64_t CounterRng::next_u64() {
  uint64_t hi = next_u32();
  return (hi << 32) | next_u32();
}

double CounterRng::uniform() { return (next_u32() >> 8) * (1.0 / 16777216.0); }

double CounterRng::normal() {
  if (have_spare_normal_) {
    have_spare_normal_ = false;
    return spare_normal_;
  }
  // 1 - uniform() is in (0, 1], so the logarithm is finite.
  double radius = std::sqrt(-2.0 * std::log(1.0 - uniform()));
  double angle = 2.0 * M_PI * uniform();
  spare_normal_ = radius * std::sin(angle);
  have_spare_normal_ = true;
  return radius * std::cos(angle);
}

uint64_t CounterRng::below(uint64_t n) {
  // Lemire's nearly-divisionless method would be faster; rejection on the top range is
  // simple and exact, and shuffles are not on a hot path.
  uint64_t limit = UINT64_MAX - (UINT64_MAX % n);
  uint64_t x;
  do {
    x = next_u64();
  } while (x >= limit);
  return x % n;
}

}  // namespace pic
