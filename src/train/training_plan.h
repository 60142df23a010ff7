#pragma once
// How many steps a pre-training run takes and which sampler feeds it, from the options and
// the shard sizes agreed by all ranks. Pure: no I/O, no communication, so it is tested
// directly.
//
// Epoch sampler: one epoch = floor(min_shard / batch) steps; --epochs and --warmup-epoch are
// used as given.
// Sliding window (DESIGN.md "The sliding-window scheduler"): per-rank window
// w = floor(window_size / world) and stride s = floor(window_stride / world). A window
// larger than the smallest shard is clamped to that shard (and the stride to the window),
// with a warning in `warnings`: a small dataset then trains with a window of all its images,
// which is what such a user wants, rather than failing. One window epoch = floor(w / batch)
// steps, and epoch counts are converted as the original does, with the effective global
// window W = w x world:
//   epochs' = ceil(epochs x N / W),  warm-up' = ceil(warm-up x N / W),
//   each step-decay epoch e' = ceil(e x N / W)  (pic converts these too; the original left
//   them in data epochs, which made --lr-scheduler step meaningless with the window).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/sampler.h"
#include "train/pretrain_options.h"

namespace pic {

struct TrainingPlan {
  int64_t iters_per_epoch = 0;           // steps per (window) epoch
  int64_t epochs = 0;                    // (window) epochs of the schedule
  double warmup_epochs = 0;              // (window) epochs
  std::vector<int64_t> lr_decay_epochs;  // (window) epochs
  int64_t total_steps = 0;               // epochs x iters_per_epoch: what the schedule spans
  int64_t first_step = 0;  // (start_epoch - 1) x iters_per_epoch (schedule epochs), before
                           // any resume
  int64_t end_step = 0;    // total_steps, or --max-steps when smaller
  int64_t window = 0;      // per rank, sliding window only
  int64_t stride = 0;      // per rank, sliding window only
  std::vector<std::string> warnings;  // for rank 0 to print
};

// num_instances: N of the dataset; min_shard_size: smallest shard over all ranks.
// Throws std::invalid_argument when a shard cannot hold one batch.
TrainingPlan plan_training(const PretrainOptions& options, int64_t num_instances,
                           int64_t min_shard_size, int world_size);

// The sampler of this rank, consistent with `plan`.
std::unique_ptr<Sampler> make_sampler(const PretrainOptions& options, const TrainingPlan& plan,
                                      int64_t shard_size, int64_t min_shard_size, int rank);

}  // namespace pic
