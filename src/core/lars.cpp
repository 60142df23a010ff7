#include "core/lars.h"

#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

namespace pic {

bool lars_adapts(const torch::Tensor& parameter) { return parameter.dim() > 1; }

Lars::Lars(NamedTensors parameters, LarsOptions options)
    : parameters_(std::move(parameters)), options_(options) {
  const auto finite_non_negative = [](double value) { return std::isfinite(value) && value >= 0; };
  if (!finite_non_negative(options_.momentum) || !finite_non_negative(options_.weight_decay)) {
    throw std::invalid_argument("Lars: momentum and weight_decay must be finite and >= 0, found " +
                                std::to_string(options_.momentum) + " and " +
                                std::to_string(options_.weight_decay));
  }
  if (!(std::isfinite(options_.trust_coefficient) && options_.trust_coefficient > 0)) {
    throw std::invalid_argument("Lars: trust_coefficient must be finite and > 0, found " +
                                std::to_string(options_.trust_coefficient));
  }
  // eps keeps the ratio finite when |g| is tiny; it may be zero since |g| > 0 is checked.
  if (!finite_non_negative(options_.eps)) {
    throw std::invalid_argument("Lars: eps must be finite and >= 0, found " +
                                std::to_string(options_.eps));
  }
  momentum_ = zero_momentum_buffers(parameters_, "Lars");
}

void Lars::step(double lr) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    torch::Tensor& param = parameters_[i].second;
    const torch::Tensor& grad = param.grad();
    if (!grad.defined()) continue;
    torch::Tensor d_p = grad;
    if (lars_adapts(param)) {
      if (options_.weight_decay != 0) d_p = d_p.add(param, options_.weight_decay);
      // The norms stay on the device as 0-d tensors (no host sync per parameter); torch::where
      // leaves the gradient unscaled when either norm is zero.
      const torch::Tensor param_norm = param.norm();
      const torch::Tensor grad_norm = d_p.norm();
      const torch::Tensor ratio =
          options_.trust_coefficient * param_norm / (grad_norm + options_.eps);
      const torch::Tensor both_positive = param_norm.gt(0).logical_and(grad_norm.gt(0));
      d_p = d_p.mul(torch::where(both_positive, ratio, torch::ones_like(ratio)));
    }
    apply_momentum_step(param, d_p, momentum_[i].second, options_.momentum, lr);
  }
}

void Lars::zero_grad() { zero_gradients(parameters_); }

}  // namespace pic
