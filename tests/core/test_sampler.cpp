// Samplers: the sliding window equals DESIGN.md's pseudo-code step by step, and both samplers
// are pure functions of the step.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <vector>

#include "core/counter_rng.h"
#include "core/sampler.h"

namespace {

using pic::SlidingWindowConfig;
using pic::SlidingWindowSampler;

// The key tags of sampler.cpp. Pinned here on purpose: changing them changes the data order
// of every run, which should never happen by accident.
constexpr uint64_t kEpochPermutationTag = 0x45504F43;
constexpr uint64_t kWindowOrderTag = 0x4F524452;
constexpr uint64_t kWindowShuffleTag = 0x57494E44;

std::vector<int64_t> shuffled_identity(int64_t n, uint64_t key) {
  std::vector<int64_t> v(n);
  std::iota(v.begin(), v.end(), int64_t{0});
  pic::shuffle_with_key(v.begin(), v.end(), key);
  return v;
}

// DESIGN.md's pseudo-code, written as literally as possible: a running position p and an
// order that is redrawn (cycle c keyed by (seed, rank, c)) when the next window would run
// past its end.
class ReferenceWindows {
 public:
  explicit ReferenceWindows(SlidingWindowConfig c) : c_(c) {
    order_ = shuffled_identity(c_.shard_size, key(kWindowOrderTag, 0));
  }

  // Yields the batches of window epoch e (called for e = 0, 1, 2, ... in turn).
  std::vector<std::vector<int64_t>> window_epoch(int64_t e) {
    const int64_t n = c_.shard_size, w = c_.window;
    if (c_.shuffle_per_epoch && p_ + w > n) {
      ++cycle_;
      order_ = shuffled_identity(n, key(kWindowOrderTag, cycle_));
      p_ = 0;
    }
    std::vector<int64_t> ids;
    for (int64_t j = 0; j < w; ++j) ids.push_back(order_[(p_ + j) % n]);
    pic::shuffle_with_key(ids.begin(), ids.end(), key(kWindowShuffleTag, e));
    p_ = (p_ + c_.stride) % n;
    std::vector<std::vector<int64_t>> batches;
    for (int64_t b = 0; (b + 1) * c_.batch_size <= w; ++b) {
      batches.emplace_back(ids.begin() + b * c_.batch_size, ids.begin() + (b + 1) * c_.batch_size);
    }
    return batches;
  }

 private:
  uint64_t key(uint64_t tag, int64_t which) const {
    return pic::hash_key(
        {c_.seed, static_cast<uint64_t>(c_.rank), tag, static_cast<uint64_t>(which)});
  }
  SlidingWindowConfig c_;
  std::vector<int64_t> order_;
  int64_t p_ = 0;
  int64_t cycle_ = 0;
};

SlidingWindowConfig window_config(int64_t n, int64_t w, int64_t s, int64_t batch, bool shuffle,
                                  uint64_t seed = 7, int rank = 0) {
  SlidingWindowConfig c;
  c.shard_size = n;
  c.window = w;
  c.stride = s;
  c.batch_size = batch;
  c.shuffle_per_epoch = shuffle;
  c.seed = seed;
  c.rank = rank;
  return c;
}

}  // namespace

TEST_CASE("sliding window equals the DESIGN.md pseudo-code step by step", "[sampler]") {
  // n not a multiple of w or s, w not a multiple of the batch, w == n, s == w, s == 1.
  const std::vector<SlidingWindowConfig> configs = {
      window_config(103, 20, 7, 6, false),          window_config(103, 20, 7, 6, true),
      window_config(50, 50, 10, 8, false),          window_config(50, 50, 10, 8, true),
      window_config(37, 12, 12, 5, false),          window_config(37, 12, 12, 5, true),
      window_config(1000, 128, 16, 32, true, 3, 2), window_config(29, 9, 1, 3, true, 11, 1),
  };
  for (const auto& config : configs) {
    CAPTURE(config.shard_size, config.window, config.stride, config.batch_size,
            config.shuffle_per_epoch);
    SlidingWindowSampler sampler(config);
    ReferenceWindows reference(config);
    REQUIRE(sampler.steps_per_epoch() == config.window / config.batch_size);
    int64_t step = 0;
    // Enough windows for several wraps / order cycles.
    const int64_t windows = 3 * config.shard_size / config.stride + 5;
    for (int64_t e = 0; e < windows; ++e) {
      for (const auto& expected : reference.window_epoch(e)) {
        CAPTURE(e, step);
        REQUIRE(sampler.indices_for_step(step) == expected);
        ++step;
      }
    }
  }
}

TEST_CASE("each image appears in about w / s consecutive windows", "[sampler]") {
  SECTION("without per-epoch shuffle: exactly w / s consecutive windows per pass") {
    // n = 1024, w = 128, s = 16: one pass is 64 windows and every image is in 8 of them.
    auto config = window_config(1024, 128, 16, 32, false);
    SlidingWindowSampler sampler(config);
    std::map<int64_t, std::vector<int64_t>> windows_of_image;
    for (int64_t k = 0; k < 64; ++k) {
      std::set<int64_t> in_window;
      for (int64_t b = 0; b < 4; ++b) {
        for (int64_t id : sampler.indices_for_step(k * 4 + b)) in_window.insert(id);
      }
      REQUIRE(in_window.size() == 128);  // a window holds w distinct images
      for (int64_t id : in_window) windows_of_image[id].push_back(k);
    }
    REQUIRE(windows_of_image.size() == 1024);
    for (const auto& [id, ks] : windows_of_image) {
      REQUIRE(ks.size() == 8);
      // Consecutive modulo the 64 windows of a pass.
      int gaps = 0;
      for (size_t i = 0; i < ks.size(); ++i) {
        int64_t next = ks[(i + 1) % ks.size()];
        if ((next - ks[i] + 64) % 64 != 1) ++gaps;
      }
      REQUIRE(gaps == 1);
    }
  }
  SECTION("with per-epoch shuffle: at most w / s, and mostly exactly, per cycle") {
    // n = 1000, w = 128, s = 16: (1000 - 128) / 16 + 1 = 55 windows per cycle.
    auto config = window_config(1000, 128, 16, 32, true);
    SlidingWindowSampler sampler(config);
    std::map<int64_t, std::vector<int64_t>> windows_of_image;
    for (int64_t k = 0; k < 55; ++k) {
      for (int64_t b = 0; b < 4; ++b) {
        for (int64_t id : sampler.indices_for_step(k * 4 + b)) windows_of_image[id].push_back(k);
      }
    }
    int64_t exactly_eight = 0;
    for (const auto& [id, ks] : windows_of_image) {
      REQUIRE(ks.size() <= 8);
      REQUIRE(ks.back() - ks.front() + 1 == static_cast<int64_t>(ks.size()));  // consecutive
      if (ks.size() == 8) ++exactly_eight;
    }
    // Order positions 112 .. 879 are covered by 8 windows each.
    REQUIRE(exactly_eight == 768);
    // Positions 992 .. 999 of cycle 0's order are not reached in that cycle.
    REQUIRE(windows_of_image.size() == 992);
    // The next cycle starts on a fresh order.
    auto cycle0 = sampler.indices_for_step(0);
    std::set<int64_t> first_of_cycle0(cycle0.begin(), cycle0.end());
    auto cycle1 = sampler.indices_for_step(55 * 4);
    REQUIRE(std::set<int64_t>(cycle1.begin(), cycle1.end()) != first_of_cycle0);
  }
}

TEST_CASE("samplers are pure functions of the step", "[sampler]") {
  auto config = window_config(211, 40, 9, 8, true, 5, 1);
  SlidingWindowSampler in_order(config);
  std::vector<std::vector<int64_t>> expected;
  for (int64_t t = 0; t < 300; ++t) expected.push_back(in_order.indices_for_step(t));

  std::vector<int64_t> steps(300);
  std::iota(steps.begin(), steps.end(), int64_t{0});
  pic::shuffle_with_key(steps.begin(), steps.end(), 42);
  SlidingWindowSampler shuffled_calls(config);
  for (int64_t t : steps) REQUIRE(shuffled_calls.indices_for_step(t) == expected[t]);

  pic::EpochSamplerConfig epoch_config{97, 96, 10, 5, 1};
  pic::EpochSampler epoch_in_order(epoch_config), epoch_shuffled(epoch_config);
  std::vector<std::vector<int64_t>> epoch_expected;
  for (int64_t t = 0; t < 300; ++t) epoch_expected.push_back(epoch_in_order.indices_for_step(t));
  for (int64_t t : steps) REQUIRE(epoch_shuffled.indices_for_step(t) == epoch_expected[t]);

  // Another rank or seed draws another order.
  SlidingWindowSampler other_rank(window_config(211, 40, 9, 8, true, 5, 2));
  SlidingWindowSampler other_seed(window_config(211, 40, 9, 8, true, 6, 1));
  REQUIRE(other_rank.indices_for_step(0) != expected[0]);
  REQUIRE(other_seed.indices_for_step(0) != expected[0]);
}

TEST_CASE("epoch sampler covers each image once per epoch", "[sampler]") {
  // Shard of 103 on a rank whose smallest peer has 101: 10 steps of 10, 3 images left out.
  pic::EpochSamplerConfig config{103, 101, 10, 9, 0};
  pic::EpochSampler sampler(config);
  REQUIRE(sampler.steps_per_epoch() == 10);
  std::vector<std::set<int64_t>> seen_per_epoch(4);
  for (int64_t t = 0; t < 40; ++t) {
    auto ids = sampler.indices_for_step(t);
    REQUIRE(ids.size() == 10);
    for (int64_t id : ids) {
      REQUIRE(id >= 0);
      REQUIRE(id < 103);
      REQUIRE(seen_per_epoch[t / 10].insert(id).second);  // no image twice in an epoch
    }
  }
  std::set<int64_t> seen_ever;
  for (const auto& epoch : seen_per_epoch) {
    REQUIRE(epoch.size() == 100);  // all but n - steps * batch = 3
    seen_ever.insert(epoch.begin(), epoch.end());
  }
  REQUIRE(seen_per_epoch[0] != seen_per_epoch[1]);  // a different image is left out
  REQUIRE(seen_ever.size() == 103);                 // nobody skipped forever (seeded, 4 epochs)

  // The permutation of epoch e is keyed by (seed, rank, e).
  auto permutation = shuffled_identity(103, pic::hash_key({9, 0, kEpochPermutationTag, 2}));
  REQUIRE(sampler.indices_for_step(21) ==
          std::vector<int64_t>(permutation.begin() + 10, permutation.begin() + 20));
}

TEST_CASE("samplers reject configurations they cannot honour", "[sampler]") {
  REQUIRE_THROWS_AS(SlidingWindowSampler(window_config(100, 101, 10, 8, false)),
                    std::invalid_argument);  // window larger than the shard
  REQUIRE_THROWS_AS(SlidingWindowSampler(window_config(100, 6, 2, 8, false)),
                    std::invalid_argument);  // window smaller than a batch
  REQUIRE_THROWS_AS(SlidingWindowSampler(window_config(100, 20, 0, 8, false)),
                    std::invalid_argument);  // stride 0
  REQUIRE_THROWS_AS(SlidingWindowSampler(window_config(100, 20, 21, 8, false)),
                    std::invalid_argument);  // stride past the window
  REQUIRE_THROWS_AS(pic::EpochSampler({5, 5, 8, 0, 0}), std::invalid_argument);
  REQUIRE_THROWS_AS(pic::EpochSampler({5, 6, 2, 0, 0}), std::invalid_argument);
}
