#pragma once
// MoCo v1/v2 (He et al., 2020) as the trainer runs it. Two views per image: view 0 goes
// through the query encoder (trained), view 1 through the key encoder, a copy that follows
// the query encoder as an exponential moving average and gets no gradient.
//
// Shuffled BatchNorm: the key encoder's BatchNorm must not see a batch made only of this
// rank's images (the statistics would leak which keys belong together). The key images of
// all ranks are gathered, permuted with one permutation every rank draws from the same
// counter stream (seed, step), each rank encodes its slice of the permuted batch, and the
// keys are gathered back and un-permuted. The queue [D, K] of negative keys is replicated:
// every rank enqueues the keys of all ranks in rank order, as the original does.
//
// Loss per rank: moco_loss over its own queries (mean); the trainer's gradient average over
// ranks then equals the mean over the global batch. The key encoder's EMA runs after the
// optimizer step (the original runs it at the start of the next forward: the same values).
#include <torch/torch.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "core/communicator.h"
#include "core/training_method.h"

namespace pic {

struct MocoConfig {
  double temperature = 0.07;
  double momentum = 0.999;     // key encoder: k <- m k + (1 - m) q
  int64_t queue_size = 65536;  // K, at least the global batch
  uint64_t seed = 0;           // queue initialisation and the shuffle's stream
};

// The shuffle of step `step`: position j of the shuffled global batch holds sample order[j].
// Every rank computes the same order from (seed, step) without communicating.
std::vector<int64_t> moco_shuffle_order(uint64_t seed, int64_t step, int64_t global_batch);

class MocoMethod : public TrainingMethod {
 public:
  // The key encoder starts as a copy of `encoder` (same config, parameters and buffers).
  MocoMethod(ResNet encoder, MocoConfig config, Communicator& comm);

  ResNet& encoder() override { return encoder_; }
  double forward_backward(const CropBatch& batch, int64_t step) override;
  void after_step(double lr, int64_t step) override;
  // encoder_k.*, queue [D, K], queue_ptr [1] (the original's names), replicated.
  MethodTensors extra_tensors() override;
  int64_t views_per_image() const override { return 2; }

  // Collective. L2-normalised keys [b, D] of this rank's `images` [b, 3, H, W] by the key
  // encoder under shuffled BatchNorm, and those of every rank [B_global, D] in rank order.
  std::pair<torch::Tensor, torch::Tensor> shuffled_keys(const torch::Tensor& images, int64_t step);

  ResNet& key_encoder() { return key_encoder_; }
  const torch::Tensor& queue() const { return queue_; }
  int64_t queue_pointer() const { return queue_ptr_.item<int64_t>(); }

 private:
  ResNet encoder_;
  ResNet key_encoder_{nullptr};
  MocoConfig config_;
  Communicator& comm_;
  torch::Tensor queue_;      // [D, K]
  torch::Tensor queue_ptr_;  // [1] int64
};

}  // namespace pic
