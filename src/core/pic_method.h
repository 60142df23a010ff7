#pragma once
// PIC as the trainer runs it: a replicated encoder and a sharded instance classifier.
//
// One step on every rank:
//   1. the encoder runs once per crop group (BatchNorm statistics per group, as in the
//      original) on this rank's images;
//   2. the active classifier rows of this step are chosen (all of this rank's rows, or
//      with negative sampling the rows negative_set.h picks) and caught up if lazy;
//   3. instance_softmax_cross_entropy gives the global loss, the complete gradient of the
//      active rows and the gradient of this rank's features;
//   4. the features' gradient flows back through the encoder (scaled by the world size,
//      because the encoder's gradients are then AVERAGED over ranks by the trainer, while
//      the loss is the mean over the global batch).
// The classifier rows are updated by update_classifier(); the encoder by the trainer's Sgd.
#include <torch/torch.h>

#include <cstdint>
#include <memory>

#include "core/communicator.h"
#include "core/instance_classifier.h"
#include "core/negative_set.h"
#include "core/resnet.h"
#include "core/training_method.h"

namespace pic {

struct PicMethodConfig {
  double temperature = 0.2;
  int64_t chunk_rows = 65536;  // classifier rows per block of logits
};

class PicMethod : public TrainingMethod {
 public:
  // `negatives` may be null: every row of this rank is active at every step (full softmax).
  PicMethod(ResNet encoder, std::unique_ptr<InstanceClassifier> classifier,
            std::unique_ptr<NegativeSet> negatives, PicMethodConfig config, Communicator& comm);

  // Forward and backward of step `step` for `batch` (instance ids are global dataset
  // indices inside this rank's rows). Leaves the encoder's gradients in .grad; returns the
  // loss (mean over every crop of every rank, identical on all ranks).
  double forward_backward(const CropBatch& batch, int64_t step) override;

  // SGD step `step` with learning rate `lr` on the rows forward_backward made active.
  void update_classifier(double lr, int64_t step);
  void after_step(double lr, int64_t step) override { update_classifier(lr, step); }

  // `sim_matrix` (the original's name): the classifier rows and their momentum, instance-level.
  MethodTensors extra_tensors() override;
  // Lazily updated rows are brought to where dense SGD would have them before a save.
  void before_save(int64_t steps_done) override { classifier_->catch_up_all(steps_done); }
  void after_load(int64_t steps_done) override { classifier_->reset_steps_done(steps_done); }
  // Multi-crop groups come from the augmentation; one image gives one "view" here.
  int64_t views_per_image() const override { return 1; }

  ResNet& encoder() override { return encoder_; }
  InstanceClassifier& classifier() { return *classifier_; }
  // False when every row of this rank is in every step's softmax.
  bool samples_negatives() const { return negatives_ != nullptr; }
  // Rows of this rank in the last step's softmax.
  int64_t active_rows() const { return active_local_.defined() ? active_local_.numel() : 0; }

 private:
  torch::Tensor choose_active_rows(int64_t step);

  ResNet encoder_;
  std::unique_ptr<InstanceClassifier> classifier_;
  std::unique_ptr<NegativeSet> negatives_;
  PicMethodConfig config_;
  Communicator& comm_;
  torch::Tensor all_rows_;      // [n_r] 0..n_r-1, the active set without sampling
  torch::Tensor active_local_;  // [k] this step's active rows (local indices)
  torch::Tensor grad_rows_;     // [k, D]
};

}  // namespace pic
