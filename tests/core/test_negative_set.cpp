// NegativeSet: recent mode equals the literal backward/forward walk over the sampler's
// batches, uniform mode is a uniform, per-step deterministic draw, and every set is sorted,
// distinct, of size min(K_r, shard) and holds the step's batch.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/counter_rng.h"
#include "core/negative_set.h"
#include "core/sampler.h"

namespace {

using pic::EpochSampler;
using pic::EpochSamplerConfig;
using pic::NegativeSampling;
using pic::NegativeSet;
using pic::NegativeSetConfig;
using pic::SlidingWindowConfig;
using pic::SlidingWindowSampler;

EpochSamplerConfig epoch_config(int64_t shard, int64_t min_shard, int64_t batch) {
  EpochSamplerConfig c;
  c.shard_size = shard;
  c.min_shard_size = min_shard;
  c.batch_size = batch;
  c.seed = 7;
  c.rank = 1;
  return c;
}

SlidingWindowConfig window_config(int64_t shard, int64_t window, int64_t stride, int64_t batch,
                                  bool shuffle_per_epoch) {
  SlidingWindowConfig c;
  c.shard_size = shard;
  c.window = window;
  c.stride = stride;
  c.batch_size = batch;
  c.shuffle_per_epoch = shuffle_per_epoch;
  c.seed = 11;
  c.rank = 2;
  return c;
}

NegativeSetConfig set_config(int64_t shard, int64_t k, NegativeSampling mode) {
  NegativeSetConfig c;
  c.shard_size = shard;
  c.rows_per_rank = k;
  c.mode = mode;
  c.seed = 5;
  c.rank = 1;
  return c;
}

std::vector<int64_t> sorted(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// The definition, written literally: steps t, t-1, ..., 0 and then t+1, t+2, ..., each batch
// in the sampler's order, collecting distinct rows until k are found.
std::vector<int64_t> reference_recent(pic::Sampler& sampler, int64_t step, size_t k) {
  std::vector<int64_t> rows;
  std::set<int64_t> seen;
  auto collect = [&](int64_t s) {
    for (int64_t row : sampler.indices_for_step(s)) {
      if (rows.size() == k) return;
      if (seen.insert(row).second) rows.push_back(row);
    }
  };
  for (int64_t s = step; s >= 0 && rows.size() < k; --s) collect(s);
  for (int64_t s = step + 1; rows.size() < k; ++s) collect(s);
  return sorted(rows);
}

// Checks the invariants every set has, for any mode.
void check_set(const std::vector<int64_t>& rows, const std::vector<int64_t>& batch, int64_t shard,
               int64_t k) {
  REQUIRE(static_cast<int64_t>(rows.size()) == std::min(k, shard));
  REQUIRE(std::is_sorted(rows.begin(), rows.end()));
  REQUIRE(std::adjacent_find(rows.begin(), rows.end()) == rows.end());
  REQUIRE(rows.front() >= 0);
  REQUIRE(rows.back() < shard);
  for (int64_t row : batch) REQUIRE(std::binary_search(rows.begin(), rows.end(), row));
}

std::vector<int64_t> union_of_steps(pic::Sampler& sampler, std::vector<int64_t> steps) {
  std::vector<int64_t> rows;
  for (int64_t s : steps) {
    auto batch = sampler.indices_for_step(s);
    rows.insert(rows.end(), batch.begin(), batch.end());
  }
  return sorted(rows);
}

}  // namespace

TEST_CASE("negative sampling names parse and print", "[negative_set]") {
  CHECK(pic::parse_negative_sampling("recent") == NegativeSampling::kRecent);
  CHECK(pic::parse_negative_sampling("uniform") == NegativeSampling::kUniform);
  CHECK(std::string(pic::to_string(NegativeSampling::kRecent)) == "recent");
  CHECK(std::string(pic::to_string(NegativeSampling::kUniform)) == "uniform");
  CHECK_THROWS_WITH(pic::parse_negative_sampling("Recent"),
                    Catch::Contains("'Recent'") && Catch::Contains("recent, uniform"));
}

TEST_CASE("negative set rejects bad configs with a clear message", "[negative_set]") {
  auto sampler = [] { return std::make_unique<EpochSampler>(epoch_config(20, 20, 4)); };
  CHECK_THROWS_WITH(NegativeSet(set_config(20, 0, NegativeSampling::kRecent), sampler()),
                    Catch::Contains("K_r") && Catch::Contains("must be >= 1, got 0"));
  CHECK_THROWS_WITH(NegativeSet(set_config(0, 6, NegativeSampling::kRecent), sampler()),
                    Catch::Contains("shard size must be >= 1 row, got 0"));
  CHECK_THROWS_WITH(NegativeSet(set_config(20, 3, NegativeSampling::kUniform), sampler()),
                    Catch::Contains("K_r) 3 is smaller than the per-rank batch 4"));
  CHECK_THROWS_WITH(NegativeSet(set_config(20, 6, NegativeSampling::kRecent), nullptr),
                    Catch::Contains("no sampler"));
  CHECK_THROWS_AS(NegativeSet(set_config(20, -5, NegativeSampling::kRecent), sampler()),
                  std::invalid_argument);
  // A sampler over a bigger shard than the config says is caught, naming the step.
  CHECK_THROWS_WITH(NegativeSet(set_config(10, 6, NegativeSampling::kUniform),
                                std::make_unique<EpochSampler>(epoch_config(1000, 1000, 2))),
                    Catch::Contains("at step 0, outside the shard [0, 10)"));
  NegativeSet ok(set_config(20, 6, NegativeSampling::kRecent), sampler());
  CHECK_THROWS_WITH(ok.rows_for_step(-1), Catch::Contains("negative step -1"));
}

TEST_CASE("recent: the rows of the latest steps, hand-checkable case", "[negative_set]") {
  // Shard 20, batch 2, K 6: 10 steps per epoch, all rows of one epoch distinct.
  EpochSampler batches(epoch_config(20, 20, 2));
  NegativeSet set(set_config(20, 6, NegativeSampling::kRecent),
                  std::make_unique<EpochSampler>(epoch_config(20, 20, 2)));
  CHECK(set.size() == 6);
  CHECK(set.rows_for_step(5) == union_of_steps(batches, {5, 4, 3}));
  CHECK(set.rows_for_step(6) == union_of_steps(batches, {6, 5, 4}));
  CHECK(set.rows_for_step(9) == union_of_steps(batches, {9, 8, 7}));
  // Early steps look forward: step 0 and step 1 both use steps 0, 1, 2.
  CHECK(set.rows_for_step(0) == union_of_steps(batches, {0, 1, 2}));
  CHECK(set.rows_for_step(1) == union_of_steps(batches, {0, 1, 2}));
  CHECK(set.rows_for_step(2) == union_of_steps(batches, {0, 1, 2}));

  // K 5: the boundary falls inside step 3's batch; its first row (in sampler order) counts.
  NegativeSet odd(set_config(20, 5, NegativeSampling::kRecent),
                  std::make_unique<EpochSampler>(epoch_config(20, 20, 2)));
  std::vector<int64_t> expected = union_of_steps(batches, {5, 4});
  expected.push_back(batches.indices_for_step(3)[0]);
  CHECK(odd.rows_for_step(5) == sorted(expected));
  expected = union_of_steps(batches, {0, 1});
  expected.push_back(batches.indices_for_step(2)[0]);
  CHECK(odd.rows_for_step(0) == sorted(expected));
}

TEST_CASE("recent equals the literal walk, in order and in any order", "[negative_set]") {
  struct Case {
    const char* name;
    std::function<std::unique_ptr<pic::Sampler>()> make;
    int64_t shard, k;
  };
  const std::vector<Case> cases = {
      // One surplus row per epoch: epochs overlap, rows repeat across the boundary.
      {"epoch", [] { return std::make_unique<EpochSampler>(epoch_config(23, 22, 3)); }, 23, 10},
      {"epoch large k", [] { return std::make_unique<EpochSampler>(epoch_config(23, 22, 3)); }, 23,
       22},
      {"window",
       [] { return std::make_unique<SlidingWindowSampler>(window_config(30, 9, 4, 2, false)); }, 30,
       7},
      {"window k > w",
       [] { return std::make_unique<SlidingWindowSampler>(window_config(30, 9, 4, 2, false)); }, 30,
       15},
      {"window shuffled",
       [] { return std::make_unique<SlidingWindowSampler>(window_config(31, 10, 3, 3, true)); }, 31,
       12},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    auto reference_sampler = c.make();
    NegativeSet in_order(set_config(c.shard, c.k, NegativeSampling::kRecent), c.make());
    std::vector<std::vector<int64_t>> expected;
    const int64_t steps = 300;
    for (int64_t step = 0; step < steps; ++step) {
      expected.push_back(reference_recent(*reference_sampler, step, static_cast<size_t>(c.k)));
      const auto rows = in_order.rows_for_step(step);
      INFO("step " << step);
      check_set(rows, reference_sampler->indices_for_step(step), c.shard, c.k);
      REQUIRE(rows == expected.back());
    }
    // Random order, repeats and jumps of every size: the same sets.
    NegativeSet shuffled(set_config(c.shard, c.k, NegativeSampling::kRecent), c.make());
    pic::CounterRng rng(99);
    for (int i = 0; i < 400; ++i) {
      int64_t step = static_cast<int64_t>(rng.below(steps));
      if (i % 3 == 1) step = std::min<int64_t>(steps - 1, step + 1);  // consecutive runs too
      INFO("shuffled step " << step);
      REQUIRE(shuffled.rows_for_step(step) == expected[step]);
    }
    for (int64_t step = steps - 1; step >= 0; --step) {
      REQUIRE(shuffled.rows_for_step(step) == expected[step]);
    }
  }
}

TEST_CASE("recent with the sliding window stays inside the latest windows", "[negative_set]") {
  // w 8, stride 4, batch 2: 4 steps per window; K = w.
  const auto config = window_config(20, 8, 4, 2, false);
  SlidingWindowSampler windows(config);
  NegativeSet set(set_config(20, 8, NegativeSampling::kRecent),
                  std::make_unique<SlidingWindowSampler>(config));
  for (int64_t window = 0; window < 30; ++window) {
    const auto current =
        union_of_steps(windows, {4 * window, 4 * window + 1, 4 * window + 2, 4 * window + 3});
    std::vector<int64_t> latest = current;
    if (window > 0) {
      const auto previous =
          union_of_steps(windows, {4 * window - 4, 4 * window - 3, 4 * window - 2, 4 * window - 1});
      latest.insert(latest.end(), previous.begin(), previous.end());
    }
    latest = sorted(latest);
    for (int64_t b = 0; b < 4; ++b) {
      const auto rows = set.rows_for_step(4 * window + b);
      INFO("window " << window << " batch " << b);
      for (int64_t row : rows) REQUIRE(std::binary_search(latest.begin(), latest.end(), row));
    }
    // At the window's last step the set is exactly the window.
    CHECK(set.rows_for_step(4 * window + 3) == current);
  }
}

TEST_CASE("uniform: distinct, holds the batch, deterministic per step", "[negative_set]") {
  struct Case {
    int64_t shard, min_shard, batch, k;
  };
  // Floyd's draws remembered in a bitmap (dense) and in a hash table (sparse).
  for (const Case& c : {Case{500, 497, 16, 100}, Case{100000, 99999, 8, 40}}) {
    INFO("shard " << c.shard << ", K " << c.k);
    const auto sampler_config = epoch_config(c.shard, c.min_shard, c.batch);
    EpochSampler batches(sampler_config);
    NegativeSet a(set_config(c.shard, c.k, NegativeSampling::kUniform),
                  std::make_unique<EpochSampler>(sampler_config));
    NegativeSet b(set_config(c.shard, c.k, NegativeSampling::kUniform),
                  std::make_unique<EpochSampler>(sampler_config));
    auto other_seed_config = set_config(c.shard, c.k, NegativeSampling::kUniform);
    other_seed_config.seed = 6;
    NegativeSet other_seed(other_seed_config, std::make_unique<EpochSampler>(sampler_config));

    std::vector<std::vector<int64_t>> first_pass;
    for (int64_t step = 0; step < 200; ++step) {
      const auto rows = a.rows_for_step(step);
      check_set(rows, batches.indices_for_step(step), c.shard, c.k);
      first_pass.push_back(rows);
      if (step > 0) CHECK(rows != first_pass[step - 1]);
      CHECK(rows != other_seed.rows_for_step(step));
    }
    // Another instance, steps in reverse: identical sets.
    for (int64_t step = 199; step >= 0; --step) {
      REQUIRE(b.rows_for_step(step) == first_pass[step]);
    }
    CHECK(a.rows_for_step(37) == first_pass[37]);
  }
}

// Pearson's statistic of how often each row was drawn as a negative (not counting steps where
// it is a positive), against the exact expectation: each step draws k - batch of the
// shard - batch rows outside the batch, each with probability p.
double uniform_chi_square(int64_t shard, int64_t batch, int64_t k, int64_t steps) {
  const auto sampler_config = epoch_config(shard, shard, batch);
  EpochSampler batches(sampler_config);
  NegativeSet set(set_config(shard, k, NegativeSampling::kUniform),
                  std::make_unique<EpochSampler>(sampler_config));
  std::vector<double> drawn(shard, 0.0), positive(shard, 0.0);
  for (int64_t step = 0; step < steps; ++step) {
    const auto positives = sorted(batches.indices_for_step(step));
    for (int64_t row : positives) positive[row] += 1.0;
    for (int64_t row : set.rows_for_step(step)) {
      if (!std::binary_search(positives.begin(), positives.end(), row)) drawn[row] += 1.0;
    }
  }
  const double p = double(k - batch) / double(shard - batch);
  double chi_square = 0.0;
  for (int64_t row = 0; row < shard; ++row) {
    const double expected = p * (double(steps) - positive[row]);
    chi_square += (drawn[row] - expected) * (drawn[row] - expected) / expected;
  }
  return chi_square;
}

TEST_CASE("uniform: every non-batch row equally likely", "[negative_set]") {
  // shard - 1 degrees of freedom: mean about df (a little less, as draws within a step are
  // without replacement), sd sqrt(2 df). A draw that ignored the batch, favoured low rows or
  // repeated itself across steps lands far outside; too good a fit would not be random.
  struct Case {
    int64_t shard, batch, k, steps;
  };
  // The first draws 20 of 196 rows per step (bitmap path), the second 4 of 2998 (hash path).
  for (const Case& c : {Case{200, 4, 24, 5000}, Case{3000, 2, 6, 20000}}) {
    const double df = double(c.shard - 1);
    const double chi_square = uniform_chi_square(c.shard, c.batch, c.k, c.steps);
    INFO("shard " << c.shard << ": chi-square " << chi_square << ", " << df << " dof");
    CHECK(chi_square < df + 5.0 * std::sqrt(2.0 * df));
    CHECK(chi_square > 0.6 * df);
  }
}

TEST_CASE("K >= shard gives every row in both modes", "[negative_set]") {
  std::vector<int64_t> all(12);
  std::iota(all.begin(), all.end(), int64_t{0});
  for (NegativeSampling mode : {NegativeSampling::kRecent, NegativeSampling::kUniform}) {
    for (int64_t k : {12, 13, 1000}) {
      NegativeSet set(set_config(12, k, mode),
                      std::make_unique<EpochSampler>(epoch_config(12, 11, 3)));
      CHECK(set.size() == 12);
      for (int64_t step : {0, 3, 4, 50}) CHECK(set.rows_for_step(step) == all);
    }
  }
}

TEST_CASE("negative set per-step time at ImageNet scale", "[.bench]") {
  // One rank of 8 on ImageNet-1k: 160 000 rows, batch 128, K 65536.
  const int64_t shard = 160000, batch = 128, k = 65536, steps = 2000;
  for (NegativeSampling mode : {NegativeSampling::kRecent, NegativeSampling::kUniform}) {
    NegativeSet set(set_config(shard, k, mode),
                    std::make_unique<EpochSampler>(epoch_config(shard, shard, batch)));
    auto start = std::chrono::steady_clock::now();
    set.rows_for_step(1000);  // recent: a cold walk over ~K / batch steps
    const double cold_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    start = std::chrono::steady_clock::now();
    int64_t checksum = 0;
    for (int64_t step = 1001; step < 1001 + steps; ++step) checksum += set.rows_for_step(step)[7];
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count() /
        steps;
    std::printf(
        "negative set %s: %.3f ms per step, first call %.1f ms (shard %lld, batch %lld, "
        "K %lld; %lld)\n",
        pic::to_string(mode), ms, cold_ms, static_cast<long long>(shard),
        static_cast<long long>(batch), static_cast<long long>(k), static_cast<long long>(checksum));
    CHECK(ms < 5.0);
  }
}
