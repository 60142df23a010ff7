#pragma once
// Residual blocks of the original's ResNet (torchvision layout): BasicBlock for 18/34,
// Bottleneck (expansion 4, stride on the 3x3 conv) for 50/101/152. Submodule names follow
// torchvision: conv1, bn1, conv2, bn2[, conv3, bn3], downsample.
#include <torch/torch.h>

#include <cstdint>
#include <utility>

#include "core/batch_norm.h"

namespace pic {

// Common base, so that initialisation can find every block and its last BatchNorm.
class ResidualBlockImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor x) = 0;
  // The BN whose gamma the original zeroes so that each block starts as the identity.
  virtual BatchNorm2d last_bn() const = 0;
};

// Shortcut for a block whose output shape differs from its input: 1x1 conv (stride s) + BN
// ("downsample.0", ".1"), or for `_d` archs average pooling (kernel = stride = s) + 1x1 conv
// + BN ("downsample.1", ".2"). Returns an empty holder when no shortcut is needed.
torch::nn::Sequential make_downsample(int64_t in_channels, int64_t out_channels, int64_t stride,
                                      bool avg_down);

class BasicBlockImpl : public ResidualBlockImpl {
 public:
  static constexpr int64_t kExpansion = 1;
  BasicBlockImpl(int64_t in_channels, int64_t planes, int64_t stride, bool avg_down);
  torch::Tensor forward(torch::Tensor x) override;
  BatchNorm2d last_bn() const override { return bn2; }

 private:
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(BasicBlock);

class BottleneckImpl : public ResidualBlockImpl {
 public:
  static constexpr int64_t kExpansion = 4;
  BottleneckImpl(int64_t in_channels, int64_t planes, int64_t stride, bool avg_down);
  torch::Tensor forward(torch::Tensor x) override;
  BatchNorm2d last_bn() const override { return bn3; }

 private:
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(Bottleneck);

// A Sequential with a plain Tensor -> Tensor forward, so that it can sit inside another
// Sequential (the `_d` stem: conv1.0 = conv-BN-ReLU, conv1.1 = conv-BN-ReLU, conv1.2 = conv).
class ConvStackImpl : public torch::nn::SequentialImpl {
 public:
  using SequentialImpl::SequentialImpl;
  torch::Tensor forward(torch::Tensor x) { return SequentialImpl::forward(std::move(x)); }
};
TORCH_MODULE(ConvStack);

// kxk convolution without bias, padding k/2 (the only kind the ResNets use).
torch::nn::Conv2d make_conv(int64_t in_channels, int64_t out_channels, int64_t kernel,
                            int64_t stride);

}  // namespace pic
