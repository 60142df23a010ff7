#pragma once
// SimCLR (Chen et al., 2020) as the trainer runs it. Two views per image go through the
// encoder together ([view 0 of every image | view 1 of every image]) with synchronised
// BatchNorm (batch_norm.h), so the statistics are those of the global batch, as in the
// original. The features of all ranks are gathered and each rank computes NT-Xent for its
// own rows against every column (simclr_loss: the gathered columns carry no gradient, as
// the original's all_gather). The trainer's average of the encoder gradients over ranks then
// gives the gradient of the global mean loss.
#include <torch/torch.h>

#include <cstdint>

#include "core/communicator.h"
#include "core/training_method.h"

namespace pic {

struct SimclrConfig {
  double temperature = 0.1;
};

class SimclrMethod : public TrainingMethod {
 public:
  // Attaches `comm` to every BatchNorm layer of `encoder` (SyncBN).
  SimclrMethod(ResNet encoder, SimclrConfig config, Communicator& comm);

  ResNet& encoder() override { return encoder_; }
  double forward_backward(const CropBatch& batch, int64_t step) override;
  void after_step(double /*lr*/, int64_t /*step*/) override {}
  MethodTensors extra_tensors() override { return {}; }
  int64_t views_per_image() const override { return 2; }

 private:
  ResNet encoder_;
  SimclrConfig config_;
  Communicator& comm_;
};

}  // namespace pic
