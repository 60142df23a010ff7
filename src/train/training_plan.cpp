#include "train/training_plan.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace pic {
namespace {

// ceil(value x N / W) for the original's epoch conversion.
int64_t to_window_epochs(double value, int64_t num_instances, int64_t global_window) {
  const double epochs = value * static_cast<double>(num_instances) / global_window;
  return static_cast<int64_t>(std::ceil(epochs - 1e-9));
}

void plan_sliding_window(const PretrainOptions& o, int64_t num_instances, int64_t min_shard_size,
                         int world_size, TrainingPlan& plan) {
  plan.window = o.window_size / world_size;
  plan.stride = o.window_stride / world_size;
  if (plan.window > min_shard_size) {
    plan.warnings.push_back(
        "--window-size " + std::to_string(o.window_size) + " gives " + std::to_string(plan.window) +
        " images per rank, more than the smallest shard (" + std::to_string(min_shard_size) +
        " images); the window is clamped to the shard");
    plan.window = min_shard_size;
    if (plan.stride > plan.window) plan.stride = plan.window;
  }
  if (plan.window < o.batch_size) {
    throw std::invalid_argument("pic-pretrain: the per-rank window (" +
                                std::to_string(plan.window) +
                                " images) holds less than one "
                                "batch (--batch-size " +
                                std::to_string(o.batch_size) + ")");
  }
  const int64_t global_window = plan.window * world_size;
  plan.iters_per_epoch = plan.window / o.batch_size;
  plan.epochs = to_window_epochs(static_cast<double>(o.epochs), num_instances, global_window);
  plan.warmup_epochs =
      static_cast<double>(to_window_epochs(o.warmup_epoch, num_instances, global_window));
  for (int64_t e : o.lr_decay_epochs) {
    plan.lr_decay_epochs.push_back(
        to_window_epochs(static_cast<double>(e), num_instances, global_window));
  }
}

}  // namespace

TrainingPlan plan_training(const PretrainOptions& o, int64_t num_instances, int64_t min_shard_size,
                           int world_size) {
  if (min_shard_size < o.batch_size) {
    throw std::invalid_argument(
        "pic-pretrain: the smallest shard holds " + std::to_string(min_shard_size) + " images (" +
        std::to_string(num_instances) + " over " + std::to_string(world_size) +
        " ranks), fewer than one batch (--batch-size " + std::to_string(o.batch_size) + ")");
  }
  TrainingPlan plan;
  if (o.use_sliding_window_sampler) {
    plan_sliding_window(o, num_instances, min_shard_size, world_size, plan);
  } else {
    plan.iters_per_epoch = min_shard_size / o.batch_size;
    plan.epochs = o.epochs;
    plan.warmup_epochs = o.warmup_epoch;
    plan.lr_decay_epochs = o.lr_decay_epochs;
  }
  if (plan.warmup_epochs > static_cast<double>(plan.epochs)) {
    // Checked here, in the user's units, rather than by the schedule in window epochs.
    throw std::invalid_argument(
        "pic-pretrain: --warmup-epoch " + std::to_string(o.warmup_epoch) +
        " is longer than the whole run (--epochs " + std::to_string(o.epochs) +
        (o.use_sliding_window_sampler ? "; in window epochs " + std::to_string(plan.warmup_epochs) +
                                            " > " + std::to_string(plan.epochs)
                                      : std::string()) +
        "); lower --warmup-epoch");
  }
  plan.total_steps = plan.epochs * plan.iters_per_epoch;
  plan.first_step = (o.start_epoch - 1) * plan.iters_per_epoch;
  plan.end_step = o.max_steps > 0 ? std::min(plan.total_steps, o.max_steps) : plan.total_steps;
  return plan;
}

std::unique_ptr<Sampler> make_sampler(const PretrainOptions& o, const TrainingPlan& plan,
                                      int64_t shard_size, int64_t min_shard_size, int rank) {
  if (o.use_sliding_window_sampler) {
    SlidingWindowConfig config;
    config.shard_size = shard_size;
    config.window = plan.window;
    config.stride = plan.stride;
    config.batch_size = o.batch_size;
    config.shuffle_per_epoch = o.shuffle_per_epoch;
    config.seed = o.seed;
    config.rank = rank;
    return std::make_unique<SlidingWindowSampler>(config);
  }
  EpochSamplerConfig config;
  config.shard_size = shard_size;
  config.min_shard_size = min_shard_size;
  config.batch_size = o.batch_size;
  config.seed = o.seed;
  config.rank = rank;
  return std::make_unique<EpochSampler>(config);
}

}  // namespace pic
