#pragma once
// Decoding and augmentation on worker threads, ahead of the trainer.
//
// Workers take images one at a time, in step order, from a bounded window of steps
// (prefetch_batches steps past the one the trainer waits for), and write each augmented crop
// straight into its row of the batch tensors. Every crop's randomness comes from
// augment_key(seed, rank, step, sample, crop), so a batch is the same whatever the number of
// threads or which thread made which image, and a loader started at a later first_step
// yields exactly the batches an uninterrupted one would (exact resume, DESIGN.md decision 3).
//
// A decode or augmentation error on one image is handed to the trainer: next() for that step
// throws std::runtime_error naming the image's global index. The loader sets no global torch
// or OpenCV state; OpenCV's own thread pool is left as the application configured it (a
// training app with its own workers should call cv::setNumThreads(1)).
#include <torch/torch.h>

#include <cstdint>
#include <memory>

#include "core/method.h"
#include "core/sampler.h"
#include "data/augment.h"
#include "data/dataset_reader.h"

namespace pic {

struct LoaderOptions {
  int num_threads = 4;       // decode + augment workers
  int prefetch_batches = 4;  // steps prepared ahead of the one next() returns
  uint64_t seed = 0;         // run seed, first word of every augmentation key
  int rank = 0;
  // JPEGs: decode only the crops' region at a reduced DCT scale when the crops allow it
  // (crop_source.h); false decodes every image in full (the reference path).
  bool decode_regions = true;
};

struct LoadedBatch {
  int64_t step = -1;
  // groups[0]: large crops [B * num_crop, 3, H, W], crop-major; groups[g >= 1]: small crop
  // g - 1 [B, 3, h, w]; instance_ids [B] int64 global dataset indices (range.begin + local).
  CropBatch crops;
  torch::Tensor labels;  // [B] int64 class labels
};

namespace detail {
class PrefetchPipeline;
}

// Training batches for steps first_step, first_step + 1, ... < end_step, images chosen by the
// sampler. The shard must outlive the loader; the loader is the only caller of
// sampler->indices_for_step while it lives.
class BatchLoader {
 public:
  BatchLoader(const DatasetShard& shard, std::shared_ptr<Sampler> sampler, AugmentConfig aug,
              LoaderOptions opts, int64_t first_step, int64_t end_step);
  ~BatchLoader();  // stops the workers and joins them, also in the middle of a run
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // Blocks until the next step's batch is ready. Throws std::runtime_error when one of its
  // images failed, std::out_of_range after end_step.
  LoadedBatch next();
  bool done() const;                  // every step up to end_step has been returned
  double total_wait_seconds() const;  // time next() spent blocked

 private:
  std::unique_ptr<detail::PrefetchPipeline> pipeline_;
};

// The whole shard in order, every image exactly once, for evaluation and feature extraction:
// batch t holds local images [t * batch_size, min((t + 1) * batch_size, n)), so the last
// batch may be smaller. Use the "val" preset (deterministic) or any other preset (then keyed,
// with step = batch index, and therefore also reproducible).
class SequentialLoader {
 public:
  SequentialLoader(const DatasetShard& shard, AugmentConfig aug, int64_t batch_size,
                   LoaderOptions opts);
  ~SequentialLoader();
  SequentialLoader(const SequentialLoader&) = delete;
  SequentialLoader& operator=(const SequentialLoader&) = delete;

  int64_t num_batches() const { return num_batches_; }  // ceil(n / batch_size)
  bool done() const;
  LoadedBatch next();  // LoadedBatch::step is the batch index
  double total_wait_seconds() const;

 private:
  int64_t num_batches_ = 0;
  std::unique_ptr<detail::PrefetchPipeline> pipeline_;
};

}  // namespace pic
