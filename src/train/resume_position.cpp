#include "train/resume_position.h"

#include <algorithm>
#include <stdexcept>

namespace pic {

ResumePosition resume_position(const SavedProgress& saved, const TrainingPlan& plan,
                               int64_t batch_size, int world_size) {
  if (saved.step < 0 || saved.world_size < 1 || batch_size < 1 || world_size < 1) {
    throw std::invalid_argument("resume_position: step " + std::to_string(saved.step) +
                                ", saved world size " + std::to_string(saved.world_size) +
                                ", batch " + std::to_string(batch_size) + ", world " +
                                std::to_string(world_size) + " out of range");
  }
  const int64_t global_batch = batch_size * world_size;
  // A format_version 1 file has no images_seen: its steps were of this batch size, as far as
  // anyone can tell (a changed --batch-size is reported by the option check).
  const bool stored = saved.images_seen >= 0;
  const int64_t images = stored ? saved.images_seen : saved.step * batch_size * saved.world_size;

  ResumePosition position;
  position.images_seen = images;
  if (saved.world_size == world_size) {
    position.step = saved.step;
    return position;
  }

  // The nearest step of this plan, never past its end.
  const int64_t nearest = (images + global_batch / 2) / global_batch;
  position.step = std::min(nearest, plan.total_steps);
  position.remapped = true;
  const int64_t epoch = position.step / plan.iters_per_epoch;
  position.description =
      std::to_string(images) + " images seen (" + (stored ? "" : "not stored, assumed ") + "step " +
      std::to_string(saved.step) + " on " + std::to_string(saved.world_size) + " ranks) = step " +
      std::to_string(position.step) + " of " + std::to_string(plan.total_steps) + " on " +
      std::to_string(world_size) + " ranks (global batch " + std::to_string(global_batch) +
      ", the nearest step: " + std::to_string(position.step * global_batch) + " images), epoch " +
      std::to_string(epoch + 1) + " of " + std::to_string(plan.epochs);
  return position;
}

}  // namespace pic
