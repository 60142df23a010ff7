#pragma once
// SGD with momentum and weight decay, PyTorch semantics (no dampening, no Nesterov):
//   g <- grad + weight_decay * w;   buf <- momentum * buf + g;   w <- w - lr * buf
// The momentum buffer starts at zero, which makes the first step use buf = g exactly as
// PyTorch's "buffer starts as the first gradient" does. State is keyed by parameter name,
// so checkpoints store `optimizer/momentum/<name>` next to `model/<name>`.
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace pic {

struct SgdOptions {
  double momentum = 0.9;
  double weight_decay = 1e-4;
};

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// The momentum half of a PyTorch SGD step, in place, for a direction `d_p` that already holds
// any weight decay: buf = momentum * buf + d_p; param -= lr * buf (with momentum 0, buf is
// untouched and param -= lr * d_p). Shared by Sgd, Lars and the classifier rows, so that all
// three update exactly alike.
void apply_momentum_step(torch::Tensor& param, torch::Tensor d_p, torch::Tensor& buf,
                         double momentum, double lr);

// Zeroes every defined .grad of `parameters` in place (detached first, as PyTorch does).
void zero_gradients(NamedTensors& parameters);

// One zero momentum buffer per parameter, same names and shapes; throws std::invalid_argument
// naming `owner` and the parameter when one is undefined. Sgd and Lars start from it.
NamedTensors zero_momentum_buffers(const NamedTensors& parameters, const char* owner);

// The encoder's optimizer as the trainer drives it: pic::Sgd or pic::Lars.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update with learning rate `lr`; parameters whose .grad is undefined are skipped.
  virtual void step(double lr) = 0;
  virtual void zero_grad() = 0;
  // Named like the parameters; zero until the first step. Checkpoints save them.
  virtual NamedTensors& momentum_buffers() = 0;
};

class Sgd : public Optimizer {
 public:
  Sgd(NamedTensors parameters, SgdOptions options);

  void step(double lr) override;
  void zero_grad() override;

  const NamedTensors& parameters() const { return parameters_; }
  // Same order and names as parameters(); zero until the first step.
  NamedTensors& momentum_buffers() override { return momentum_; }
  const SgdOptions& options() const { return options_; }

 private:
  NamedTensors parameters_;
  NamedTensors momentum_;
  SgdOptions options_;
};

}  // namespace pic
