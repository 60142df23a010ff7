#pragma once
// PIC's instance classifier as one rank holds it: the rows of the images in its own data
// shard (DESIGN.md decision 2), their SGD momentum, and the bookkeeping that lets a step
// touch only some rows (negative sampling) without breaking SGD's semantics.
//
// Rows live in host memory ([n_r, D] weight + [n_r, D] momentum); a step copies out only
// its active rows ([k, D]) and writes them back after the update, so the working set of a
// step is O(k D) whatever N is.
//
// Rows that are not active in a step get no gradient. Two behaviours for them:
//   freeze  their weight and momentum stay as they are (as in Partial FC);
//   lazy    they are treated exactly as dense SGD with a zero gradient would treat them:
//           momentum decay and weight decay keep moving them. The missed steps are applied
//           when the row is next touched (made active, checkpointed, or at the end), in
//           O(log gap) per row (see missed_sgd_steps.h), with each missed step's own
//           learning rate. With every row active each step the two are the same thing.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/missed_sgd_steps.h"
#include "core/sampler.h"  // ShardRange
#include "core/sgd.h"      // SgdOptions

namespace pic {

enum class UpdateCorrection { kFreeze, kLazy };
UpdateCorrection parse_update_correction(const std::string& name);  // "freeze" | "lazy"
const char* to_string(UpdateCorrection correction);

// The rows [begin, end) of the N x D classifier, N(0, 0.01), row i drawn from (seed, i)
// only: every rank count builds the same global classifier.
torch::Tensor initial_classifier_rows(uint64_t seed, int64_t begin, int64_t end, int64_t dim);

struct InstanceClassifierConfig {
  int64_t num_instances = 0;  // N
  ShardRange rows;            // the global rows this rank owns
  int64_t dim = 128;          // D
  uint64_t seed = 0;
  SgdOptions sgd;
  UpdateCorrection correction = UpdateCorrection::kLazy;
};

class InstanceClassifier {
 public:
  // `missed_steps` is required for kLazy (the learning rate of every step of the run).
  InstanceClassifier(InstanceClassifierConfig config,
                     std::shared_ptr<const MissedSgdSteps> missed_steps);

  // The rows `local` ([k] int64 local row indices, sorted, distinct) as they stand before
  // optimizer step `step` (caught up first in lazy mode): a [k, D] copy, or the weight
  // itself when `local` is every row.
  torch::Tensor active_rows(const torch::Tensor& local, int64_t step);

  // Optimizer step `step` with learning rate `lr` on the rows `local` (the same tensor
  // active_rows was given), whose gradient is `grad` [k, D]; PyTorch SGD semantics.
  void update(const torch::Tensor& local, const torch::Tensor& grad, double lr, int64_t step);

  // Lazy mode: brings every row to its state after `steps_done` steps (before a checkpoint
  // is written and at the end of training). No-op in freeze mode.
  void catch_up_all(int64_t steps_done);
  // After a checkpoint was loaded into weight()/momentum(): all rows are at `steps_done`.
  void reset_steps_done(int64_t steps_done);

  torch::Tensor& weight() { return weight_; }      // [n_r, D], checkpoint name sim_matrix
  torch::Tensor& momentum() { return momentum_; }  // [n_r, D]
  const InstanceClassifierConfig& config() const { return config_; }
  // Host bytes held by this rank's rows, momentum and step counters.
  int64_t host_bytes() const;

 private:
  void catch_up(const torch::Tensor& local, int64_t step);

  InstanceClassifierConfig config_;
  std::shared_ptr<const MissedSgdSteps> missed_steps_;
  torch::Tensor weight_;
  torch::Tensor momentum_;
  std::vector<int64_t> steps_done_;  // per row, lazy mode: optimizer steps already applied
};

}  // namespace pic
