#include "core/resnet_blocks.h"

namespace pic {

torch::nn::Conv2d make_conv(int64_t in_channels, int64_t out_channels, int64_t kernel,
                            int64_t stride) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, kernel)
                               .stride(stride)
                               .padding(kernel / 2)
                               .bias(false));
}

torch::nn::Sequential make_downsample(int64_t in_channels, int64_t out_channels, int64_t stride,
                                      bool avg_down) {
  if (stride == 1 && in_channels == out_channels) return torch::nn::Sequential(nullptr);
  torch::nn::Sequential shortcut;
  if (avg_down) {
    // ceil_mode keeps the pooled size equal to the strided conv's ceil(n / s) on odd inputs.
    shortcut->push_back(torch::nn::AvgPool2d(
        torch::nn::AvgPool2dOptions(stride).stride(stride).ceil_mode(true).count_include_pad(
            false)));
    shortcut->push_back(make_conv(in_channels, out_channels, 1, 1));
  } else {
    shortcut->push_back(make_conv(in_channels, out_channels, 1, stride));
  }
  shortcut->push_back(BatchNorm2d(out_channels));
  return shortcut;
}

BasicBlockImpl::BasicBlockImpl(int64_t in_channels, int64_t planes, int64_t stride, bool avg_down) {
  conv1 = register_module("conv1", make_conv(in_channels, planes, 3, stride));
  bn1 = register_module("bn1", BatchNorm2d(planes));
  conv2 = register_module("conv2", make_conv(planes, planes, 3, 1));
  bn2 = register_module("bn2", BatchNorm2d(planes));
  auto shortcut = make_downsample(in_channels, planes * kExpansion, stride, avg_down);
  if (shortcut) downsample = register_module("downsample", shortcut);
}

torch::Tensor BasicBlockImpl::forward(torch::Tensor x) {
  torch::Tensor identity = downsample ? downsample->forward(x) : x;
  torch::Tensor out = torch::relu(bn1(conv1(x)));
  out = bn2(conv2(out));
  return torch::relu(out + identity);
}

BottleneckImpl::BottleneckImpl(int64_t in_channels, int64_t planes, int64_t stride, bool avg_down) {
  conv1 = register_module("conv1", make_conv(in_channels, planes, 1, 1));
  bn1 = register_module("bn1", BatchNorm2d(planes));
  conv2 = register_module("conv2", make_conv(planes, planes, 3, stride));
  bn2 = register_module("bn2", BatchNorm2d(planes));
  conv3 = register_module("conv3", make_conv(planes, planes * kExpansion, 1, 1));
  bn3 = register_module("bn3", BatchNorm2d(planes * kExpansion));
  auto shortcut = make_downsample(in_channels, planes * kExpansion, stride, avg_down);
  if (shortcut) downsample = register_module("downsample", shortcut);
}

torch::Tensor BottleneckImpl::forward(torch::Tensor x) {
  torch::Tensor identity = downsample ? downsample->forward(x) : x;
  torch::Tensor out = torch::relu(bn1(conv1(x)));
  out = torch::relu(bn2(conv2(out)));
  out = bn3(conv3(out));
  return torch::relu(out + identity);
}

}  // namespace pic
