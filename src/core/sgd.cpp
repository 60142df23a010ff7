#include "core/sgd.h"

#include <stdexcept>
#include <string>
#include <utility>

namespace pic {

NamedTensors zero_momentum_buffers(const NamedTensors& parameters, const char* owner) {
  NamedTensors momentum;
  momentum.reserve(parameters.size());
  for (const auto& [name, param] : parameters) {
    if (!param.defined()) {
      throw std::invalid_argument(std::string(owner) + ": parameter '" + name + "' is undefined");
    }
    momentum.emplace_back(name, torch::zeros_like(param));
  }
  return momentum;
}

Sgd::Sgd(NamedTensors parameters, SgdOptions options)
    : parameters_(std::move(parameters)), options_(options) {
  if (options_.momentum < 0 || options_.weight_decay < 0) {
    throw std::invalid_argument("Sgd: momentum and weight_decay must be >= 0");
  }
  momentum_ = zero_momentum_buffers(parameters_, "Sgd");
}

// The same sequence of in-place operations as torch.optim.SGD, so that results agree to the
// last bit where the kernels do: d = g + wd * w; buf = momentum * buf + d; w -= lr * buf.
void Sgd::step(double lr) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    torch::Tensor& param = parameters_[i].second;
    const torch::Tensor& grad = param.grad();
    if (!grad.defined()) continue;
    torch::Tensor d_p = grad;
    if (options_.weight_decay != 0) d_p = d_p.add(param, options_.weight_decay);
    apply_momentum_step(param, d_p, momentum_[i].second, options_.momentum, lr);
  }
}

void Sgd::zero_grad() { zero_gradients(parameters_); }

void apply_momentum_step(torch::Tensor& param, torch::Tensor d_p, torch::Tensor& buf,
                         double momentum, double lr) {
  if (momentum != 0) {
    buf.mul_(momentum).add_(d_p);
    d_p = buf;
  }
  param.add_(d_p, -lr);
}

void zero_gradients(NamedTensors& parameters) {
  for (auto& [name, param] : parameters) {
    torch::Tensor& grad = param.mutable_grad();
    if (grad.defined()) {
      grad.detach_();
      grad.zero_();
    }
  }
}

}  // namespace pic
