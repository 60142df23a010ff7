#pragma once
// Which of its own images a rank trains on at each step. Torch-free.
//
// Both samplers are pure functions of (seed, rank, shard size, step): the images of step t
// can be recomputed from t alone, so a resumed run needs no sampler state beyond the step,
// and prefetched batches are simply recomputed after a resume (DESIGN.md decision 3).
// Indices returned are local to the rank's shard, in [0, shard_size).
#include <cstdint>
#include <vector>

namespace pic {

class Sampler {
 public:
  virtual ~Sampler() = default;
  // Steps in one (window) epoch; identical on every rank by construction (the caller passes
  // sizes agreed by all ranks).
  virtual int64_t steps_per_epoch() const = 0;
  // Local indices of the `batch_size` images of step `step` (0-based over the whole run).
  virtual std::vector<int64_t> indices_for_step(int64_t step) = 0;
};

// Shuffled epochs over the shard: epoch e is a permutation keyed by (seed, rank, e);
// steps_per_epoch = floor(min_shard_size / batch_size), so that ranks with one image more
// than the smallest shard run the same number of steps (the surplus image of an epoch is
// skipped; the permutation differs per epoch, so no image is skipped forever).
struct EpochSamplerConfig {
  int64_t shard_size = 0;
  int64_t min_shard_size = 0;  // smallest shard over all ranks
  int64_t batch_size = 0;      // per rank
  uint64_t seed = 0;
  int rank = 0;
};

class EpochSampler final : public Sampler {
 public:
  explicit EpochSampler(EpochSamplerConfig config);
  int64_t steps_per_epoch() const override;
  std::vector<int64_t> indices_for_step(int64_t step) override;

 private:
  EpochSamplerConfig config_;
  int64_t cached_epoch_ = -1;
  std::vector<int64_t> permutation_;
};

// PIC's sliding-window data scheduler (DESIGN.md "The sliding-window scheduler"), per rank
// over its own shard. w = floor(window_size / world), s = floor(window_stride / world).
// Window k starts at position p_k of the rank's order:
//   without shuffle_per_epoch: p_k = k * s mod n, ids wrap around the end of the order;
//   with shuffle_per_epoch: the order is re-drawn (key (seed, rank, cycle)) whenever the next
//   window would run past the end, so windows per cycle c = floor((n - w) / s) + 1 and
//   window k uses order cycle k / c at p = (k mod c) * s.
// The window's own order is a shuffle keyed by (seed, rank, k); it yields
// floor(w / batch) batches (a last partial batch is dropped).
struct SlidingWindowConfig {
  int64_t shard_size = 0;     // n
  int64_t window = 0;         // w, per rank; must satisfy batch_size <= w <= min shard size
  int64_t stride = 0;         // s, per rank, >= 1
  int64_t batch_size = 0;     // per rank
  bool shuffle_per_epoch = false;
  uint64_t seed = 0;
  int rank = 0;
};

class SlidingWindowSampler final : public Sampler {
 public:
  explicit SlidingWindowSampler(SlidingWindowConfig config);
  int64_t steps_per_epoch() const override;  // floor(w / batch_size), steps per window
  std::vector<int64_t> indices_for_step(int64_t step) override;

 private:
  SlidingWindowConfig config_;
  int64_t cached_cycle_ = -1;
  std::vector<int64_t> order_;
  int64_t cached_window_ = -1;
  std::vector<int64_t> window_ids_;
};

// Contiguous shard of `num_items` for `rank` of `world`: the first num_items % world ranks
// get one item more (10 000 on 3 ranks: 3334, 3333, 3333).
struct ShardRange {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};
ShardRange shard_range(int64_t num_items, int rank, int world);

}  // namespace pic
