#pragma once
// BatchNorm over [B, C, H, W] that can synchronise its batch statistics across ranks
// (SimCLR's SyncBN). Parameter and buffer names are torch::nn::BatchNorm2d's (weight, bias,
// running_mean, running_var, num_batches_tracked), so checkpoints and the parity files
// read the same; with no communicator attached it is exactly torch's batch_norm.
//
// Synchronised training forward, with n the pixel count summed over ranks:
//   mean = sum_ranks(sum x) / n;  var = sum_ranks(sum (x - mean)^2) / n   (two passes, so
//   that a large mean does not cancel the variance); y = (x - mean) / sqrt(var + eps) * w + b;
//   running statistics move towards (mean, var * n / (n - 1)) as torch's do.
// Backward: the input gradient needs sum(dy) and sum(dy * xhat) over every rank (one
// all-reduce); the weight and bias gradients are this rank's sums only, because the trainer
// averages parameter gradients over ranks afterwards, as data-parallel training does with
// every other parameter. Together this equals BatchNorm over the concatenated batch.
#include <torch/torch.h>

#include <cstdint>

#include "core/communicator.h"

namespace pic {

class BatchNorm2dImpl : public torch::nn::Module {
 public:
  explicit BatchNorm2dImpl(int64_t num_features, double eps = 1e-5, double momentum = 0.1);

  torch::Tensor forward(const torch::Tensor& x);

  // While training, reduce the statistics over `comm`'s ranks (nullptr: this rank's batch
  // only). Every rank must then run the same layers in the same order with the same C.
  void synchronise_over(Communicator* comm) { sync_ = comm; }
  Communicator* synchronised_over() const { return sync_; }

  int64_t num_features() const { return num_features_; }

  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  int64_t num_features_;
  double eps_;
  double momentum_;
  Communicator* sync_ = nullptr;
};
TORCH_MODULE(BatchNorm2d);

// Attaches `comm` (or nullptr to detach) to every pic::BatchNorm2d inside `module`; returns
// how many layers it found.
int64_t synchronise_batch_norm(torch::nn::Module& module, Communicator* comm);

}  // namespace pic
