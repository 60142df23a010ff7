#pragma once
// ResNet family of the original (ORIGINAL.md "Models"): resnet18/34/50/101/152 and the `_d`
// variants, a width multiplier on the four stages, an optional small-image stem, and the
// projection head. Parameter names follow torchvision / the original, without the
// `encoder.` prefix that the owning method adds:
//   conv1.weight, bn1.*, layer1.0.conv1.weight, layer1.0.downsample.0.weight, fc1.weight ...
#include <torch/torch.h>

#include <string>

namespace pic {

struct ResNetConfig {
  std::string arch = "resnet50";  // resnet{18,34,50,101,152}[_d]
  double width = 1.0;             // stage widths 64*width, 128*width, ...; stem stays 64
  // 3x3 stride-1 conv, no max-pool: for 28-64 px inputs such as Fashion-MNIST. For `_d`
  // archs the first of the three stem convs gets stride 1 instead.
  bool small_stem = false;
  bool mlp_head = false;         // fc1 (-> mlp_hidden) + ReLU + fc2 (-> feature_dim); else fc
  int64_t mlp_hidden_dim = 2048;
  int64_t feature_dim = 128;     // head output; 0 = no head (backbone only)
};

// Throws std::invalid_argument with the list of known names for an unknown arch.
void validate_resnet_config(const ResNetConfig& config);

class ResNetImpl : public torch::nn::Module {
 public:
  explicit ResNetImpl(ResNetConfig config);

  // [B, 3, H, W] -> [B, feature_dim] (the head's output, not normalised).
  torch::Tensor forward(torch::Tensor images);
  // [B, 3, H, W] -> [B, backbone_dim] globally average-pooled backbone features.
  torch::Tensor backbone(torch::Tensor images);
  int64_t backbone_dim() const { return backbone_dim_; }
  const ResNetConfig& config() const { return config_; }

  // The original's initialisation: conv weights N(0, sqrt(2 / (k*k*out))), BN gamma 1 and
  // beta 0, then the last BN gamma of every residual block 0; linear layers keep PyTorch's
  // default. Called by the constructor; uses torch's global generator, so seed it
  // (torch::manual_seed) identically on every rank or broadcast from rank 0.
  void reset_parameters();

 private:
  ResNetConfig config_;
  int64_t backbone_dim_ = 0;
  // Submodules are registered under the original's names (conv1, bn1, layer1..4, fc or
  // fc1/fc2); the members holding them are an implementation detail of resnet.cpp.
  struct Parts;
  std::shared_ptr<Parts> parts_;
};
TORCH_MODULE(ResNet);

}  // namespace pic
