#pragma once
// Where a resumed run continues, on the rank count that wrote the checkpoint or on another
// one (docs/pretraining.md, "Resume on another number of ranks"). Pure: tested directly.
//
// On the same rank count the run continues at the checkpoint's step: the batches of a step
// are a pure function of (seed, rank, step), so the losses match an uninterrupted run bit
// for bit.
//
// On W' != W ranks a step means something else: the global batch (batch x W'), the per-rank
// window and with it the steps per (window) epoch and the total steps all change. What does
// not depend on the rank count is how far the run got in data: images_seen, the sum of the
// global batches of every step done. The run continues at the step of this run's own plan
// that has seen as many images,
//   step' = round(images_seen / (batch x W')), at most plan.total_steps,
// so the learning-rate schedule, the epoch and the sliding window's position are those of a
// W'-rank run at the same point of the data, and the run ends where a W'-rank run of the
// same --epochs ends. When the global window is the same on both rank counts (--window-size
// divisible by W and W') one window epoch is the same number of images on both, and step'
// lands in the same window epoch, at the same fraction of each rank's shard.
//
// What stays different: each rank's shard and its permutations are keyed by (seed, rank,
// ...) over a shard of N / W' images, so the images of a step are not those W ranks would
// have drawn, and the losses do not match an uninterrupted run. Rounding to a step replays
// or skips at most half a global batch.
#include <cstdint>
#include <string>

#include "train/training_plan.h"

namespace pic {

// The position stored in a checkpoint.
struct SavedProgress {
  int64_t step = 0;
  int64_t images_seen = -1;  // -1: not stored (format_version 1)
  int64_t world_size = 0;    // ranks that wrote it
};

struct ResumePosition {
  int64_t step = 0;         // the first step this run trains
  int64_t images_seen = 0;  // images trained on before `step`
  bool remapped = false;    // the step was mapped from another rank count
  std::string description;  // for rank 0's log when remapped, else empty
};

// batch_size: per rank, this run's; world_size: this run's ranks.
ResumePosition resume_position(const SavedProgress& saved, const TrainingPlan& plan,
                               int64_t batch_size, int world_size);

}  // namespace pic
