#include "data/batch_loader.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <utility>

#include "data/prefetch_pipeline.h"

namespace pic {

BatchLoader::BatchLoader(const DatasetShard& shard, std::shared_ptr<Sampler> sampler,
                         AugmentConfig aug, LoaderOptions opts, int64_t first_step,
                         int64_t end_step) {
  if (!sampler) throw std::invalid_argument("BatchLoader needs a sampler");
  // The pipeline calls the plan under its lock, one step at a time and in order, so the
  // sampler's caches see the same sequence of calls as a single-threaded loop.
  detail::StepPlan plan = [sampler](int64_t step) { return sampler->indices_for_step(step); };
  pipeline_ = std::make_unique<detail::PrefetchPipeline>(shard, std::move(plan), std::move(aug),
                                                         opts, first_step, end_step);
}

BatchLoader::~BatchLoader() = default;

LoadedBatch BatchLoader::next() { return pipeline_->next(); }
bool BatchLoader::done() const { return pipeline_->done(); }
double BatchLoader::total_wait_seconds() const { return pipeline_->total_wait_seconds(); }

SequentialLoader::SequentialLoader(const DatasetShard& shard, AugmentConfig aug, int64_t batch_size,
                                   LoaderOptions opts) {
  if (batch_size < 1) {
    throw std::invalid_argument("SequentialLoader: batch size must be >= 1, got " +
                                std::to_string(batch_size));
  }
  const int64_t n = shard.size();
  num_batches_ = (n + batch_size - 1) / batch_size;
  detail::StepPlan plan = [n, batch_size](int64_t step) {
    const int64_t begin = step * batch_size;
    std::vector<int64_t> local(static_cast<size_t>(std::min(n, begin + batch_size) - begin));
    std::iota(local.begin(), local.end(), begin);
    return local;
  };
  pipeline_ = std::make_unique<detail::PrefetchPipeline>(shard, std::move(plan), std::move(aug),
                                                         opts, 0, num_batches_);
}

SequentialLoader::~SequentialLoader() = default;

bool SequentialLoader::done() const { return pipeline_->done(); }
LoadedBatch SequentialLoader::next() { return pipeline_->next(); }
double SequentialLoader::total_wait_seconds() const { return pipeline_->total_wait_seconds(); }

}  // namespace pic
