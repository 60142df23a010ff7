#pragma once
// LARS (layer-wise adaptive rate scaling) wrapped around SGD with momentum, as in the original's
// LARS wrapper. Per parameter tensor with more than one dimension:
//   g <- grad + weight_decay * w
//   g <- g * trust_coefficient * |w| / (|g| + eps)      only when |w| > 0 and |g| > 0
//   buf <- momentum * buf + g;   w <- w - lr * buf       (no dampening, no Nesterov)
// Norms are L2 over the whole tensor. 1-D parameters (biases, BatchNorm weight and bias) get
// neither weight decay nor the trust ratio: plain SGD with momentum. State is keyed by
// parameter name like pic::Sgd, so checkpoints keep `optimizer/momentum/<name>`.
#include <torch/torch.h>

#include "core/sgd.h"

namespace pic {

struct LarsOptions {
  double momentum = 0.9;
  double weight_decay = 1e-4;
  double trust_coefficient = 1e-3;
  double eps = 1e-8;
};

// True for tensors LARS adapts and decays (dim > 1); false for biases and BN parameters.
bool lars_adapts(const torch::Tensor& parameter);

class Lars : public Optimizer {
 public:
  Lars(NamedTensors parameters, LarsOptions options);

  // One update with learning rate `lr`; parameters whose .grad is undefined are skipped.
  void step(double lr) override;
  void zero_grad() override;

  const NamedTensors& parameters() const { return parameters_; }
  // Same order and names as parameters(); zero until the first step.
  NamedTensors& momentum_buffers() override { return momentum_; }
  const LarsOptions& options() const { return options_; }

 private:
  NamedTensors parameters_;
  NamedTensors momentum_;
  LarsOptions options_;
};

}  // namespace pic
