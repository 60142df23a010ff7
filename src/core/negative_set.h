#pragma once
// Negative sampling (issue 3): which of this rank's classifier rows take part in the softmax
// of one step. Torch-free.
//
// Rank r owns the classifier rows of its shard, local indices [0, shard_size). With negative
// sampling step t's softmax uses only an "active set" of K_r of them, which always contains
// the rank's own batch rows of step t (the positives):
// - kRecent (default, what the PIC paper reports works): the K_r distinct rows this rank's
//   sampler visited most recently, counting step t's batch. Walk the batches of steps t,
//   t-1, ..., 0 (each in the sampler's order) collecting distinct rows until K_r are found;
//   early in a run, when steps 0..t hold fewer than K_r distinct rows, continue with steps
//   t+1, t+2, ... (the rows visited next). With the sliding window and K_r = window this is
//   the current window.
// - kUniform: the batch rows plus K_r - B distinct rows drawn uniformly from the other rows
//   of the shard, from a CounterRng stream keyed by (seed, rank, step).
// If K_r >= shard_size the set is every row, 0..shard_size-1, in both modes.
//
// The set is a pure function of (config, step): a resumed run recomputes it from the step
// alone. Recent mode keeps an incremental cache (an LRU over the visited rows) so that
// consecutive steps cost O(K_r) rather than a walk over K_r / B past batches; any other
// call order gives the same sets, only slower.
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/sampler.h"

namespace pic {

enum class NegativeSampling { kRecent, kUniform };

// "recent" | "uniform"; anything else throws std::invalid_argument listing the choices.
NegativeSampling parse_negative_sampling(const std::string& name);
const char* to_string(NegativeSampling mode);

struct NegativeSetConfig {
  int64_t shard_size = 0;     // rows this rank owns
  int64_t rows_per_rank = 0;  // K_r >= 1; must be >= the per-rank batch B unless >= shard_size
  NegativeSampling mode = NegativeSampling::kRecent;
  uint64_t seed = 0;
  int rank = 0;
};

// Not thread-safe: one caller (the training loop) per instance.
class NegativeSet {
 public:
  // `sampler` must be a sampler of its own (not shared with loader threads), built with the
  // same config as the training sampler. Throws std::invalid_argument on a bad config.
  NegativeSet(NegativeSetConfig config, std::unique_ptr<Sampler> sampler);

  // Sorted, distinct local row indices, exactly size() of them, including every row of
  // the sampler's batch of `step`.
  std::vector<int64_t> rows_for_step(int64_t step);
  int64_t size() const;  // min(K_r, shard_size)

 private:
  std::vector<int64_t> batch_for_step(int64_t step);  // the sampler's batch, range-checked
  std::vector<int64_t> uniform_rows(int64_t step);

  // Recent mode.
  bool rebuild_recent(int64_t step);  // walk back from `step`; false if < K_r rows found
  void advance_recent(int64_t step, bool keep_sorted);  // state of step - 1 -> step
  void compute_first_rows();

  NegativeSetConfig config_;
  std::unique_ptr<Sampler> sampler_;
  int64_t batch_size_ = 0;  // B

  // The K_r most recently visited rows as of step recent_step_ (-1: none), front = most
  // recent, with each row's list position and the same rows sorted.
  int64_t recent_step_ = -1;
  std::list<int64_t> recency_;
  std::unordered_map<int64_t, std::list<int64_t>::iterator> recency_position_;
  std::vector<int64_t> recent_sorted_;
  std::vector<int64_t> merge_scratch_;

  // Steps before first_full_step_ have visited fewer than K_r distinct rows; their set is
  // always the first K_r distinct rows of the run (first_rows_, sorted). -1: not known yet.
  int64_t first_full_step_ = -1;
  std::vector<int64_t> first_rows_;

  // Uniform mode: Floyd's algorithm's hash table or bitmap (all zero between steps), reused.
  std::vector<int64_t> drawn_table_;
  std::vector<uint64_t> drawn_bitmap_;
  std::vector<int64_t> sort_scratch_;
};

}  // namespace pic
