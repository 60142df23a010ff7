#pragma once
// InstDisc (Wu et al., 2018) as the trainer runs it: a replicated encoder and a memory bank
// of N unit vectors sharded by rank like PIC's classifier (rank r holds the rows of its own
// data shard). One step:
//   1. the encoder embeds this rank's images (one crop each);
//   2. every rank draws the same [B_global, 1 + K] columns (positive + K uniform negatives
//      per sample) and memory_bank_softmax gives the global loss and this rank's features'
//      gradient, which flows back through the encoder scaled by the world size (the trainer
//      averages encoder gradients, the loss is the mean over the global batch);
//   3. after the optimizer step each rank moves the bank rows of its own samples towards
//      their new features with `momentum` and re-normalises them.
#include <torch/torch.h>

#include <cstdint>

#include "core/communicator.h"
#include "core/sampler.h"  // ShardRange
#include "core/training_method.h"

namespace pic {

struct InstDiscConfig {
  int64_t num_instances = 0;     // N
  ShardRange rows;               // this rank's bank rows (= its data shard)
  int64_t num_negative = 65536;  // K negatives per sample, drawn from all N
  double temperature = 0.07;
  double momentum = 0.5;  // bank update: row <- normalise(m row + (1 - m) x)
  uint64_t seed = 0;      // bank initialisation and the negatives' stream
  int64_t chunk_pairs = 1 << 18;
};

// The initial bank rows [begin, end): unit vectors uniform on the sphere, each a pure
// function of (seed, row), so any sharding gives the same bank.
torch::Tensor initial_memory_bank(uint64_t seed, int64_t begin, int64_t end, int64_t dim);

class InstDiscMethod : public TrainingMethod {
 public:
  InstDiscMethod(ResNet encoder, InstDiscConfig config, Communicator& comm);

  ResNet& encoder() override { return encoder_; }
  double forward_backward(const CropBatch& batch, int64_t step) override;
  void after_step(double lr, int64_t step) override;
  // `memory` (the original's name), instance-level.
  MethodTensors extra_tensors() override;
  int64_t views_per_image() const override { return 1; }

  // [n_r, D] this rank's bank rows.
  const torch::Tensor& memory() const { return memory_; }

 private:
  ResNet encoder_;
  InstDiscConfig config_;
  Communicator& comm_;
  torch::Tensor memory_;
  torch::Tensor last_features_;  // this step's features (detached) and ids, for after_step
  torch::Tensor last_ids_;
};

}  // namespace pic
