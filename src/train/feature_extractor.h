#pragma once
// Runs a frozen encoder over every image of a rank's shard once (the val transform: short
// side to size + 32, centre crop), in dataset order, and keeps the pooled backbone features.
// Logs progress with rate and ETA from rank 0.
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "core/communicator.h"
#include "core/resnet.h"
#include "data/dataset_reader.h"

namespace pic {

struct ExtractedFeatures {
  torch::Tensor features;  // [n, backbone_dim] float32, rows in the shard's order
  torch::Tensor labels;    // [n] int64
  double seconds = 0;
};

struct ExtractOptions {
  int64_t image_size = 224;
  int64_t val_resize = 0;  // short side before the centre crop; 0 = image_size + 32
  int64_t batch_size = 64;  // per rank
  int num_workers = 4;
  int64_t print_freq = 100;    // batches
  std::string what = "train";  // for the log
};

// Collective only through logging (counts are not exchanged); the encoder must be in eval mode.
ExtractedFeatures extract_features(ResNet& encoder, const DatasetShard& shard,
                                   const ExtractOptions& options, Communicator& comm);

}  // namespace pic
