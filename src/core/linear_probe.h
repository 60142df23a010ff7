#pragma once
// The linear probe of the linear evaluation: one fully connected layer fc [C, D] + [C]
// trained with SGD (momentum, weight decay) and the original's warm-up + cosine schedule on
// features of a frozen backbone, and top-1 / top-5 / loss counted over every val image.
// Torch-only (DESIGN.md decision 6): the caller brings features and a Communicator.
//
// Two ways to take a step, for the two protocols of pic-linear:
//  - step_on_replicated(): every rank holds the same features of the whole train split (the
//    "features" protocol gathers them once). The global batch is cut into fixed chunks of
//    `chunk_size` samples; rank r computes the gradient sums of its chunks, the chunk
//    gradients are gathered and added in chunk order on every rank. The chunks and the
//    addition order do not depend on the number of ranks, so 1, 2 or 3 ranks take
//    bit-identical steps (given the same number of threads per rank).
//  - step_on_local_batch(): each rank brings its own samples (the "original" protocol, fresh
//    augmented crops every epoch); gradient sums and the sample count are all-reduced, so
//    every rank takes the same step, but its rounding depends on the rank count.
// The learning rate is used as given (the original's main_linear.py does not scale it by
// the batch size); warm-up starts at lr / warmup_multiplier.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/communicator.h"
#include "core/lr_schedule.h"
#include "core/sgd.h"

namespace pic {

// fc.weight [C, D], fc.bias [C]; PyTorch's default nn.Linear initialisation
// (uniform(-1/sqrt(D), 1/sqrt(D)) for both), drawn from CounterRng(hash_key({seed, ...})),
// so every rank builds the same layer without a broadcast.
class LinearClassifier {
 public:
  LinearClassifier(int64_t in_dim, int64_t num_classes, uint64_t seed);

  // [B, D] -> [B, C]
  torch::Tensor logits(const torch::Tensor& features) const;
  int64_t in_dim() const { return weight_.size(1); }
  int64_t num_classes() const { return weight_.size(0); }
  torch::Tensor& weight() { return weight_; }
  torch::Tensor& bias() { return bias_; }
  // {"fc.weight", "fc.bias"}: the tensors themselves (shared storage), for Sgd.
  NamedTensors named_parameters() const;

 private:
  torch::Tensor weight_;  // [C, D]
  torch::Tensor bias_;    // [C]
};

// Exact counts over some set of samples; add them across ranks with sum_over_ranks().
struct TopkCounts {
  int64_t num_samples = 0;
  int64_t top1_correct = 0;
  int64_t top5_correct = 0;  // top-min(5, C)
  double loss_sum = 0.0;     // sum of per-sample cross-entropy

  double top1() const { return num_samples ? 100.0 * top1_correct / num_samples : 0.0; }
  double top5() const { return num_samples ? 100.0 * top5_correct / num_samples : 0.0; }
  double mean_loss() const { return num_samples ? loss_sum / num_samples : 0.0; }
  TopkCounts& operator+=(const TopkCounts& other);
};

// Counts for logits [B, C] and labels [B] (int64). A sample is top-k correct when fewer
// than k classes score strictly higher than its label (ties count in the label's favour,
// the same as torch.topk on distinct scores).
TopkCounts count_topk(const torch::Tensor& logits, const torch::Tensor& labels);
TopkCounts sum_over_ranks(const TopkCounts& local, Communicator& comm);

// Evaluates the rank's own features [n, D] / labels [n] in batches of `batch_size`, then
// sums the counts over ranks: every val image is counted exactly once.
TopkCounts evaluate_linear(const LinearClassifier& classifier, const torch::Tensor& features,
                           const torch::Tensor& labels, int64_t batch_size, Communicator& comm);

struct LinearProbeConfig {
  double learning_rate = 30.0;  // used as given, not scaled by the batch size
  double momentum = 0.9;
  double weight_decay = 0.0;
  std::string lr_scheduler = "cosine";  // "cosine" or "step"
  double warmup_epochs = 5;
  double warmup_multiplier = 100;
  std::vector<int64_t> lr_decay_epochs{30, 60, 90};
  double lr_decay_rate = 0.1;
  int64_t epochs = 100;
  int64_t total_batch_size = 256;  // global
  int64_t chunk_size = 32;         // see step_on_replicated(); independent of the rank count
  uint64_t seed = 0;
};

// SGD + schedule around a LinearClassifier. `iters_per_epoch` sets the schedule's length.
class LinearProbeTrainer {
 public:
  LinearProbeTrainer(LinearClassifier& classifier, LinearProbeConfig config,
                     int64_t iters_per_epoch, Communicator& comm);

  // All ranks pass the same features [N, D], labels [N] and the same global batch
  // `indices` into them. Returns the batch's mean loss (identical on every rank).
  double step_on_replicated(const torch::Tensor& features, const torch::Tensor& labels,
                            const std::vector<int64_t>& indices);
  // Each rank passes its own samples [b_r, D] (b_r may be 0). Returns the global mean loss.
  double step_on_local_batch(const torch::Tensor& features, const torch::Tensor& labels);

  double current_lr() const { return schedule_.at(iteration_); }
  int64_t iteration() const { return iteration_; }
  const LinearProbeConfig& config() const { return config_; }

 private:
  // Sums of loss and gradients of fc over the given samples: {loss_sum, dW [C, D], db [C]}.
  struct GradSums {
    torch::Tensor loss_sum, weight, bias;
  };
  GradSums grad_sums(const torch::Tensor& features, const torch::Tensor& labels) const;
  void apply(const torch::Tensor& weight_grad, const torch::Tensor& bias_grad);

  LinearClassifier& classifier_;
  LinearProbeConfig config_;
  Communicator& comm_;
  LrSchedule schedule_;
  Sgd sgd_;
  int64_t iteration_ = 0;
};

// Permutation of [0, n) for epoch `epoch`, keyed by (seed, epoch): the same on every rank
// and for every rank count.
std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch);

// The "features" protocol's training loop: `epochs` epochs of floor(N / total_batch_size)
// steps over replicated features [N, D]; after each epoch `on_epoch(epoch, mean_loss, lr)`
// (1-based epoch) is called on every rank, e.g. to evaluate and log.
void train_linear_on_features(LinearClassifier& classifier, const torch::Tensor& features,
                              const torch::Tensor& labels, const LinearProbeConfig& config,
                              Communicator& comm,
                              const std::function<void(int64_t, double, double)>& on_epoch);

}  // namespace pic
