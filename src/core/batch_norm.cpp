#include "core/batch_norm.h"

#include <cstdint>
#include <stdexcept>
#include <string>

namespace pic {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

const std::vector<int64_t> kReduceDims = {0, 2, 3};

torch::Tensor per_channel(const torch::Tensor& v) { return v.view({1, -1, 1, 1}); }

// The communicator travels through the autograd context as an integer: saved_data holds
// IValues only. The pointer outlives the graph (it belongs to the trainer).
int64_t pack_pointer(Communicator* comm) {
  return static_cast<int64_t>(reinterpret_cast<intptr_t>(comm));
}
Communicator* unpack_pointer(const c10::IValue& value) {
  // NOLINTNEXTLINE(performance-no-int-to-ptr): the round trip of pack_pointer, no arithmetic
  return reinterpret_cast<Communicator*>(static_cast<intptr_t>(value.toInt()));
}

struct SyncBatchNormFunction : public torch::autograd::Function<SyncBatchNormFunction> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias,
                               const torch::Tensor& running_mean, const torch::Tensor& running_var,
                               double momentum, double eps, Communicator* comm) {
    const int64_t channels = x.size(1);
    // Pass 1: sums and the pixel count, in one all-reduce.
    torch::Tensor sums =
        torch::cat({x.sum(kReduceDims), torch::full({1}, x.numel() / channels, x.options())});
    comm->all_reduce_sum(sums);
    const double count = sums[channels].item<double>();
    if (count < 2) throw std::invalid_argument("SyncBatchNorm: fewer than 2 values per channel");
    const torch::Tensor mean = sums.slice(0, 0, channels) / count;
    // Pass 2: squared deviations from the global mean.
    const torch::Tensor centred = x - per_channel(mean);
    torch::Tensor squares = centred.square().sum(kReduceDims).contiguous();
    comm->all_reduce_sum(squares);
    const torch::Tensor var = squares / count;
    const torch::Tensor invstd = (var + eps).rsqrt();
    {
      torch::NoGradGuard no_grad;
      running_mean.mul_(1 - momentum).add_(mean, momentum);
      running_var.mul_(1 - momentum).add_(var * (count / (count - 1)), momentum);
    }
    const torch::Tensor xhat = centred * per_channel(invstd);
    ctx->save_for_backward({xhat, weight, invstd});
    ctx->saved_data["count"] = count;
    ctx->saved_data["comm"] = pack_pointer(comm);
    return {xhat * per_channel(weight) + per_channel(bias)};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& xhat = saved[0];
    const torch::Tensor& weight = saved[1];
    const torch::Tensor& invstd = saved[2];
    const double count = ctx->saved_data["count"].toDouble();
    Communicator* comm = unpack_pointer(ctx->saved_data["comm"]);
    const torch::Tensor dy = grad_outputs[0].contiguous();
    const int64_t channels = dy.size(1);

    const torch::Tensor local_sum_dy = dy.sum(kReduceDims);
    const torch::Tensor local_sum_dy_xhat = (dy * xhat).sum(kReduceDims);
    torch::Tensor global = torch::cat({local_sum_dy, local_sum_dy_xhat});
    comm->all_reduce_sum(global);
    const torch::Tensor mean_dy = global.slice(0, 0, channels) / count;
    const torch::Tensor mean_dy_xhat = global.slice(0, channels, 2 * channels) / count;
    const torch::Tensor dx = (dy - per_channel(mean_dy) - xhat * per_channel(mean_dy_xhat)) *
                             per_channel(weight * invstd);
    return {dx,
            local_sum_dy_xhat,
            local_sum_dy,
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

BatchNorm2dImpl::BatchNorm2dImpl(int64_t num_features, double eps, double momentum)
    : num_features_(num_features), eps_(eps), momentum_(momentum) {
  weight = register_parameter("weight", torch::ones({num_features}));
  bias = register_parameter("bias", torch::zeros({num_features}));
  running_mean = register_buffer("running_mean", torch::zeros({num_features}));
  running_var = register_buffer("running_var", torch::ones({num_features}));
  num_batches_tracked =
      register_buffer("num_batches_tracked", torch::tensor(0, torch::dtype(torch::kLong)));
}

torch::Tensor BatchNorm2dImpl::forward(const torch::Tensor& x) {
  if (x.dim() != 4 || x.size(1) != num_features_) {
    throw std::invalid_argument("BatchNorm2d(" + std::to_string(num_features_) +
                                "): expected [B, " + std::to_string(num_features_) +
                                ", H, W], got " + std::to_string(x.dim()) + " dimensions");
  }
  if (!is_training()) {
    return torch::batch_norm(x, weight, bias, running_mean, running_var, false, momentum_, eps_,
                             false);
  }
  {
    torch::NoGradGuard no_grad;
    num_batches_tracked.add_(1);
  }
  if (sync_ != nullptr && sync_->world_size() > 1) {
    return SyncBatchNormFunction::apply(x, weight, bias, running_mean, running_var, momentum_, eps_,
                                        sync_)[0];
  }
  return torch::batch_norm(x, weight, bias, running_mean, running_var, true, momentum_, eps_,
                           false);
}

int64_t synchronise_batch_norm(torch::nn::Module& module, Communicator* comm) {
  int64_t layers = 0;
  for (const auto& child : module.modules(/*include_self=*/true)) {
    if (auto* bn = child->as<BatchNorm2dImpl>()) {
      bn->synchronise_over(comm);
      ++layers;
    }
  }
  return layers;
}

}  // namespace pic
