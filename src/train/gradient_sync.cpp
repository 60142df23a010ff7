#include "train/gradient_sync.h"

#include <stdexcept>

namespace pic {

std::vector<double> average_gradients(const NamedTensors& parameters, Communicator& comm,
                                      const std::vector<double>& extras) {
  torch::NoGradGuard no_grad;

  // Pack: [grad_0 | grad_1 | ... | extras], float32.
  std::vector<torch::Tensor> pieces;
  pieces.reserve(parameters.size() + 1);
  for (const auto& [name, param] : parameters) {
    if (param.scalar_type() != torch::kFloat32) {
      throw std::invalid_argument("average_gradients: parameter '" + name + "' is not float32");
    }
    const torch::Tensor& grad = param.grad();
    pieces.push_back(grad.defined() ? grad.reshape({-1}) : torch::zeros({param.numel()}));
  }
  std::vector<float> extra_values(extras.begin(), extras.end());
  pieces.push_back(torch::tensor(extra_values, torch::kFloat32));
  torch::Tensor flat = torch::cat(pieces);

  // One collective, then the mean.
  comm.all_reduce_sum(flat);
  if (comm.world_size() > 1) flat.div_(static_cast<double>(comm.world_size()));

  // Unpack.
  int64_t offset = 0;
  for (const auto& [name, param] : parameters) {
    torch::Tensor averaged = flat.narrow(0, offset, param.numel()).view(param.sizes());
    torch::Tensor& grad = const_cast<torch::Tensor&>(param).mutable_grad();
    if (grad.defined()) {
      grad.copy_(averaged);
    } else {
      grad = averaged.clone();
    }
    offset += param.numel();
  }
  std::vector<double> averaged_extras(extras.size());
  auto tail = flat.narrow(0, offset, static_cast<int64_t>(extras.size()));
  for (size_t i = 0; i < extras.size(); ++i) {
    averaged_extras[i] = tail[static_cast<int64_t>(i)].item<float>();
  }
  return averaged_extras;
}

}  // namespace pic
