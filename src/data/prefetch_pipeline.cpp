#include "data/prefetch_pipeline.h"

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/crop_source.h"

namespace pic::detail {
namespace {

std::string describe_image(const DatasetShard& shard, int rank, int64_t step, int64_t sample,
                           int64_t local) {
  return "image " + std::to_string(shard.range.begin + local) + " (local " + std::to_string(local) +
         " on rank " + std::to_string(rank) + ", step " + std::to_string(step) + ", sample " +
         std::to_string(sample) + ")";
}

}  // namespace

PrefetchPipeline::PrefetchPipeline(const DatasetShard& shard, StepPlan plan, AugmentConfig aug,
                                   LoaderOptions opts, int64_t first_step, int64_t end_step)
    : shard_(shard),
      plan_(std::move(plan)),
      augmenter_(std::move(aug)),
      decoder_(make_fast_decoder()),
      opts_(opts),
      end_step_(end_step),
      next_step_(first_step),
      claim_step_(first_step) {
  if (opts.num_threads < 1 || opts.prefetch_batches < 1) {
    throw std::invalid_argument("loader needs num_threads >= 1 and prefetch_batches >= 1, got " +
                                std::to_string(opts.num_threads) + " and " +
                                std::to_string(opts.prefetch_batches));
  }
  if (first_step < 0 || first_step > end_step) {
    throw std::invalid_argument("loader steps [" + std::to_string(first_step) + ", " +
                                std::to_string(end_step) + ") are not a valid range");
  }
  for (int i = 0; i < opts.num_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

PrefetchPipeline::~PrefetchPipeline() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  space_cv_.notify_all();
  ready_cv_.notify_all();
  for (auto& worker : workers_) worker.join();
}

bool PrefetchPipeline::done() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return next_step_ >= end_step_;
}

double PrefetchPipeline::total_wait_seconds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return wait_seconds_;
}

LoadedBatch PrefetchPipeline::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (next_step_ >= end_step_) {
    throw std::out_of_range("loader: next() after the last step " + std::to_string(end_step_ - 1));
  }
  const auto start = std::chrono::steady_clock::now();
  ready_cv_.wait(lock, [this] {
    auto it = slots_.find(next_step_);
    return it != slots_.end() && it->second->unfinished == 0;
  });
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  auto it = slots_.find(next_step_);
  std::unique_ptr<Slot> slot = std::move(it->second);
  slots_.erase(it);
  ++next_step_;
  lock.unlock();
  space_cv_.notify_all();

  if (!slot->error.empty()) throw std::runtime_error(slot->error);
  return std::move(slot->batch);
}

void PrefetchPipeline::worker_loop() {
  for (;;) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      while (!claim(task)) {
        if (stop_ || claim_step_ >= end_step_) return;
        space_cv_.wait(lock);
      }
    }

    std::string error;
    try {
      run_task(task);
    } catch (const std::exception& e) {
      error = e.what();
    } catch (...) {
      error = "unknown exception";
    }

    std::lock_guard<std::mutex> lock(mutex_);
    Slot& slot = *task.slot;
    if (!error.empty() && slot.error.empty()) {
      slot.error =
          describe_image(shard_, opts_.rank, slot.step, task.sample, slot.local[task.sample]) +
          ": " + error;
    }
    if (--slot.unfinished == 0) ready_cv_.notify_all();
  }
}

// Caller holds mutex_.
bool PrefetchPipeline::claim(Task& task) {
  while (!stop_ && claim_step_ < end_step_ && claim_step_ < next_step_ + opts_.prefetch_batches) {
    if (claim_sample_ == 0) open_slot(claim_step_);
    Slot* slot = slots_.at(claim_step_).get();
    const auto batch_size = static_cast<int64_t>(slot->local.size());
    if (slot->unfinished == 0) {  // the step failed before any image: nothing to hand out
      ++claim_step_;
      ready_cv_.notify_all();
      continue;
    }
    task.slot = slot;
    task.sample = claim_sample_;
    if (++claim_sample_ == batch_size) {
      claim_sample_ = 0;
      ++claim_step_;
    }
    return true;
  }
  return false;
}

// Caller holds mutex_. Asks the plan for the step's images and allocates its tensors.
void PrefetchPipeline::open_slot(int64_t step) {
  auto slot = std::make_unique<Slot>();
  slot->step = step;
  slot->batch.step = step;
  try {
    slot->local = plan_(step);
    const auto batch_size = static_cast<int64_t>(slot->local.size());
    if (batch_size == 0) throw std::runtime_error("the sampler returned no images");

    // Instance ids and labels straight from the shard.
    auto ids = torch::empty({batch_size}, torch::kInt64);
    auto labels = torch::empty({batch_size}, torch::kInt64);
    auto* id_data = ids.data_ptr<int64_t>();
    auto* label_data = labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < batch_size; ++i) {
      const int64_t local = slot->local[i];
      if (local < 0 || local >= shard_.size()) {
        throw std::runtime_error("sampler index " + std::to_string(local) +
                                 " outside the shard of " + std::to_string(shard_.size()) +
                                 " images");
      }
      id_data[i] = shard_.range.begin + local;
      label_data[i] = shard_.labels[local];
    }
    slot->batch.crops.instance_ids = ids;
    slot->batch.labels = labels;

    // groups[0]: num_crop large crops, crop-major; then one group per small crop.
    const auto& crops = augmenter_.crops();
    const int64_t num_large = augmenter_.config().num_crop;
    const int64_t large = crops[0].size;
    torch::Tensor large_group = acquire_buffer({num_large * batch_size, 3, large, large});
    slot->batch.crops.groups.push_back(large_group);
    for (int64_t c = 0; c < num_large; ++c) {
      slot->crop_rows.push_back(large_group.data_ptr<float>() + c * batch_size * 3 * large * large);
      slot->crop_pitch.push_back(3 * large * large);
    }
    for (size_t c = static_cast<size_t>(num_large); c < crops.size(); ++c) {
      const int64_t small = crops[c].size;
      torch::Tensor group = acquire_buffer({batch_size, 3, small, small});
      slot->batch.crops.groups.push_back(group);
      slot->crop_rows.push_back(group.data_ptr<float>());
      slot->crop_pitch.push_back(3 * small * small);
    }
    slot->unfinished = batch_size;
  } catch (const std::exception& e) {
    slot->error = "loader step " + std::to_string(step) + " on rank " + std::to_string(opts_.rank) +
                  ": " + e.what();
    slot->unfinished = 0;
  }
  slots_[step] = std::move(slot);
}

// Caller holds mutex_. A crop tensor handed out before is reused once nobody else holds it
// or a view of its storage (the trainer and autograd have let go); otherwise a new one.
torch::Tensor PrefetchPipeline::acquire_buffer(const std::vector<int64_t>& shape) {
  for (const torch::Tensor& buffer : buffer_pool_) {
    if (buffer.sizes() == torch::IntArrayRef(shape) && buffer.use_count() == 1 &&
        buffer.storage().use_count() == 1) {
      return buffer;
    }
  }
  torch::Tensor buffer = torch::empty(shape, torch::kFloat32);
  const size_t pool_limit =
      static_cast<size_t>(opts_.prefetch_batches + 3) * augmenter_.crops().size();
  if (buffer_pool_.size() < pool_limit) buffer_pool_.push_back(buffer);
  return buffer;
}

void PrefetchPipeline::run_task(const Task& task) const {
  const Slot& slot = *task.slot;
  const int64_t local = slot.local[task.sample];
  std::vector<uint64_t> keys(slot.crop_rows.size());
  for (size_t c = 0; c < keys.size(); ++c) {
    keys[c] = augment_key(opts_.seed, opts_.rank, slot.step, task.sample, static_cast<int64_t>(c));
  }
  const CropSource source = decode_for_crops(shard_.image_data(local), shard_.image_size(local),
                                             augmenter_, keys, *decoder_, opts_.decode_regions);
  for (size_t c = 0; c < keys.size(); ++c) {
    float* out = slot.crop_rows[c] + task.sample * slot.crop_pitch[c];
    if (source.params.empty()) {  // val: the whole image, nothing random
      augmenter_.augment_crop(source.bgr, keys[c], static_cast<int64_t>(c), out);
    } else {
      augmenter_.render(source.bgr, source.params[c], static_cast<int64_t>(c), out);
    }
  }
}

}  // namespace pic::detail
