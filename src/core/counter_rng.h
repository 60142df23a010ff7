#pragma once
// Counter-based random numbers (DESIGN.md decision 3).
//
// Every random draw in pic is a pure function of a key such as (run seed, rank, step,
// sample index) and a counter, never of a generator shared between threads. A resumed run
// therefore redraws exactly what the uninterrupted run drew, whatever the thread schedule.
//
// The generator is Philox-4x32-10 (Salmon et al., SC'11): a 64-bit key and a 128-bit counter
// map to four 32-bit outputs. Keys are built by hashing the key words together.
#include <array>
#include <cstdint>
#include <initializer_list>

namespace pic {

// Mixes any number of 64-bit words into one 64-bit key (splitmix64 finaliser per word).
uint64_t hash_key(std::initializer_list<uint64_t> words);

class CounterRng {
 public:
  // Stream named by `key` (build it with hash_key); draws start at counter 0.
  explicit CounterRng(uint64_t key) : key_(key) {}

  uint32_t next_u32();
  uint64_t next_u64();
  // Uniform in [0, 1) with 24 random bits (exactly representable in float).
  double uniform();
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Standard normal (Box-Muller, both outputs used).
  double normal();
  // Uniform integer in [0, n), unbiased (rejection), n > 0.
  uint64_t below(uint64_t n);
  bool bernoulli(double p) { return uniform() < p; }

 private:
  void refill();

  uint64_t key_;
  uint64_t counter_ = 0;
  std::array<uint32_t, 4> block_{};
  int used_ = 4;
  bool have_spare_normal_ = false;
  double spare_normal_ = 0.0;
};

// Fisher-Yates shuffle of [first, last) with a stream named by `key`.
template <typename It>
void shuffle_with_key(It first, It last, uint64_t key) {
  CounterRng rng(key);
  auto n = static_cast<uint64_t>(last - first);
  for (uint64_t i = n; i > 1; --i) {
    uint64_t j = rng.below(i);
    std::swap(first[i - 1], first[j]);
  }
}

}  // namespace pic
