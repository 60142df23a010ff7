#pragma once
// Internal engine of BatchLoader and SequentialLoader: worker threads fill the batches of a
// bounded window of steps, one image per task, in step order.
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "data/augment.h"
#include "data/batch_loader.h"
#include "data/image_decoder.h"

namespace pic::detail {

// Local indices of the images of `step`. Called by one thread at a time, in step order.
using StepPlan = std::function<std::vector<int64_t>(int64_t step)>;

class PrefetchPipeline {
 public:
  PrefetchPipeline(const DatasetShard& shard, StepPlan plan, AugmentConfig aug, LoaderOptions opts,
                   int64_t first_step, int64_t end_step);
  ~PrefetchPipeline();

  LoadedBatch next();
  bool done() const;
  double total_wait_seconds() const;

 private:
  // One step's batch while workers fill it.
  struct Slot {
    int64_t step = 0;
    std::vector<int64_t> local;  // [B] local indices
    LoadedBatch batch;
    std::vector<float*> crop_rows;    // [num_crops] where sample 0 of each crop goes
    std::vector<int64_t> crop_pitch;  // floats between two samples of a crop
    int64_t unfinished = 0;           // images not yet written
    std::string error;                // first failure, empty if none
  };
  struct Task {
    Slot* slot = nullptr;
    int64_t sample = 0;
  };

  void worker_loop();
  bool claim(Task& task);  // false when the loader stops or every task is handed out
  void open_slot(int64_t step);
  void run_task(const Task& task) const;
  torch::Tensor acquire_buffer(const std::vector<int64_t>& shape);

  const DatasetShard& shard_;
  StepPlan plan_;
  Augmenter augmenter_;
  std::unique_ptr<ImageDecoder> decoder_;
  LoaderOptions opts_;
  const int64_t end_step_;

  mutable std::mutex mutex_;
  std::condition_variable space_cv_;  // workers: the window moved or the loader stops
  std::condition_variable ready_cv_;  // trainer: a slot finished
  std::map<int64_t, std::unique_ptr<Slot>> slots_;
  int64_t next_step_;   // step next() returns next
  int64_t claim_step_;  // step whose images are being handed out
  int64_t claim_sample_ = 0;
  bool stop_ = false;
  double wait_seconds_ = 0.0;
  std::vector<torch::Tensor> buffer_pool_;  // crop tensors handed out before, reused when free

  std::vector<std::thread> workers_;
};

}  // namespace pic::detail
