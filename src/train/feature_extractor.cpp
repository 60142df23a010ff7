#include "train/feature_extractor.h"

#include <chrono>
#include <cstdio>

#include "data/batch_loader.h"
#include "train/metrics_log.h"

namespace pic {

ExtractedFeatures extract_features(ResNet& encoder, const DatasetShard& shard,
                                   const ExtractOptions& options, Communicator& comm) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  torch::NoGradGuard no_grad;

  AugmentConfig val;
  val.preset = "val";
  val.image_size = options.image_size;
  val.val_resize = options.val_resize;
  LoaderOptions loader_options;
  loader_options.num_threads = options.num_workers;
  loader_options.rank = comm.rank();
  SequentialLoader loader(shard, val, options.batch_size, loader_options);

  const int64_t n = shard.size();
  ExtractedFeatures out;
  out.features = torch::empty({n, encoder->backbone_dim()}, torch::kFloat32);
  out.labels = torch::empty({n}, torch::kInt64);
  int64_t row = 0;
  for (int64_t b = 0; b < loader.num_batches(); ++b) {
    LoadedBatch batch = loader.next();
    const auto& images = batch.crops.groups.at(0);  // [b, 3, S, S]
    const int64_t rows = images.size(0);
    out.features.slice(0, row, row + rows).copy_(encoder->backbone(images));
    out.labels.slice(0, row, row + rows).copy_(batch.labels);
    row += rows;

    if (comm.is_root() && ((b + 1) % options.print_freq == 0 || b + 1 == loader.num_batches())) {
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      const double rate = elapsed > 0 ? row / elapsed : 0.0;  // rank 0's images/s
      const double eta = rate > 0 ? (n - row) / rate : 0.0;
      std::printf("extract %-5s  batch %lld/%lld  img/s %.1f per rank (x%d ranks)  ETA %s\n",
                  options.what.c_str(), static_cast<long long>(b + 1),
                  static_cast<long long>(loader.num_batches()), rate, comm.world_size(),
                  format_duration(eta).c_str());
      std::fflush(stdout);
    }
  }
  if (row != n) {
    throw std::runtime_error("extract_features (" + options.what + ", rank " +
                             std::to_string(comm.rank()) + "): the loader returned " +
                             std::to_string(row) + " images, the shard holds " + std::to_string(n));
  }
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return out;
}

}  // namespace pic
