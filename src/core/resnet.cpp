#include "core/resnet.h"

#include <cmath>
#include <map>
#include <stdexcept>
#include <utility>
#include <vector>

#include "core/resnet_blocks.h"

namespace pic {
namespace {

struct ArchSpec {
  bool bottleneck;
  std::vector<int64_t> blocks_per_stage;
};

const std::map<std::string, ArchSpec>& known_archs() {
  static const std::map<std::string, ArchSpec> archs = {
      {"resnet18", {false, {2, 2, 2, 2}}},  {"resnet34", {false, {3, 4, 6, 3}}},
      {"resnet50", {true, {3, 4, 6, 3}}},   {"resnet101", {true, {3, 4, 23, 3}}},
      {"resnet152", {true, {3, 8, 36, 3}}},
  };
  return archs;
}

bool ends_with_d(const std::string& arch) {
  return arch.size() > 2 && arch.compare(arch.size() - 2, 2, "_d") == 0;
}

std::string base_arch(const std::string& arch) {
  return ends_with_d(arch) ? arch.substr(0, arch.size() - 2) : arch;
}

// The original's stage base width: int(64 * width), truncated as Python's int() does.
int64_t stage_base_width(double width) { return static_cast<int64_t>(64 * width); }

}  // namespace

void validate_resnet_config(const ResNetConfig& config) {
  if (known_archs().count(base_arch(config.arch)) == 0) {
    std::string names;
    for (const auto& [name, spec] : known_archs()) names += " " + name + " " + name + "_d";
    throw std::invalid_argument("unknown arch '" + config.arch + "'; known:" + names);
  }
  if (!(config.width > 0) || stage_base_width(config.width) < 1) {
    throw std::invalid_argument("resnet width " + std::to_string(config.width) +
                                " gives fewer than 1 channel (64 * width must be >= 1)");
  }
  if (config.feature_dim < 0) {
    throw std::invalid_argument("feature_dim must be >= 0, got " +
                                std::to_string(config.feature_dim));
  }
  if (config.mlp_head && (config.feature_dim == 0 || config.mlp_hidden_dim <= 0)) {
    throw std::invalid_argument("mlp_head needs feature_dim > 0 and mlp_hidden_dim > 0");
  }
}

struct ResNetImpl::Parts {
  torch::nn::AnyModule conv1;  // Conv2d, or for `_d` the three-conv Sequential
  BatchNorm2d bn1{nullptr};
  bool max_pool = true;
  std::vector<torch::nn::Sequential> layers;
  torch::nn::Linear fc{nullptr}, fc1{nullptr}, fc2{nullptr};
};

ResNetImpl::ResNetImpl(ResNetConfig config)
    : config_(std::move(config)), parts_(std::make_shared<Parts>()) {
  validate_resnet_config(config_);
  const ArchSpec& spec = known_archs().at(base_arch(config_.arch));
  const bool deep_stem = ends_with_d(config_.arch);
  const int64_t stem_stride = config_.small_stem ? 1 : 2;
  constexpr int64_t kStemChannels = 64;

  // Stem: 7x7/2 conv (3x3/1 for small images) or, for `_d`, 3x3 convs 3->32->32->64.
  if (deep_stem) {
    auto conv_bn_relu = [](int64_t in, int64_t out, int64_t stride) {
      return ConvStack(make_conv(in, out, 3, stride), BatchNorm2d(out),
                       torch::nn::ReLU());
    };
    ConvStack stem(conv_bn_relu(3, 32, stem_stride), conv_bn_relu(32, 32, 1),
                   make_conv(32, kStemChannels, 3, 1));
    parts_->conv1 = torch::nn::AnyModule(stem);
  } else {
    parts_->conv1 =
        torch::nn::AnyModule(make_conv(3, kStemChannels, config_.small_stem ? 3 : 7, stem_stride));
  }
  register_module("conv1", parts_->conv1.ptr());
  parts_->bn1 = register_module("bn1", BatchNorm2d(kStemChannels));
  parts_->max_pool = !config_.small_stem;

  // Four stages of residual blocks; the first block of stages 2-4 halves the resolution.
  const int64_t base = stage_base_width(config_.width);
  const int64_t expansion =
      spec.bottleneck ? BottleneckImpl::kExpansion : BasicBlockImpl::kExpansion;
  int64_t in_channels = kStemChannels;
  for (size_t stage = 0; stage < 4; ++stage) {
    const int64_t planes = base << stage;
    torch::nn::Sequential layer;
    for (int64_t b = 0; b < spec.blocks_per_stage[stage]; ++b) {
      const int64_t stride = (stage > 0 && b == 0) ? 2 : 1;
      if (spec.bottleneck) {
        layer->push_back(Bottleneck(in_channels, planes, stride, deep_stem));
      } else {
        layer->push_back(BasicBlock(in_channels, planes, stride, deep_stem));
      }
      in_channels = planes * expansion;
    }
    parts_->layers.push_back(register_module("layer" + std::to_string(stage + 1), layer));
  }
  backbone_dim_ = in_channels;

  // Projection head.
  if (config_.feature_dim > 0) {
    if (config_.mlp_head) {
      parts_->fc1 =
          register_module("fc1", torch::nn::Linear(backbone_dim_, config_.mlp_hidden_dim));
      parts_->fc2 =
          register_module("fc2", torch::nn::Linear(config_.mlp_hidden_dim, config_.feature_dim));
    } else {
      parts_->fc = register_module("fc", torch::nn::Linear(backbone_dim_, config_.feature_dim));
    }
  }
  reset_parameters();
}

torch::Tensor ResNetImpl::backbone(torch::Tensor images) {
  if (images.dim() != 4 || images.size(1) != 3) {
    throw std::invalid_argument("ResNet expects images [B, 3, H, W], got " +
                                c10::str(images.sizes()));
  }
  torch::Tensor x = parts_->conv1.forward(images);
  x = torch::relu(parts_->bn1(x));
  if (parts_->max_pool) x = torch::max_pool2d(x, /*kernel_size=*/3, /*stride=*/2, /*padding=*/1);
  for (auto& layer : parts_->layers) x = layer->forward(x);
  return torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);  // [B, backbone_dim]
}

torch::Tensor ResNetImpl::forward(torch::Tensor images) {
  torch::Tensor x = backbone(images);
  if (parts_->fc1) return parts_->fc2(torch::relu(parts_->fc1(x)));
  if (parts_->fc) return parts_->fc(x);
  return x;
}

void ResNetImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* conv = module->as<torch::nn::Conv2d>()) {
      const auto& k = conv->options.kernel_size();
      const double fan_out = static_cast<double>((*k)[0] * (*k)[1] * conv->options.out_channels());
      conv->weight.normal_(0, std::sqrt(2.0 / fan_out));
    } else if (auto* bn = module->as<BatchNorm2d>()) {
      bn->weight.fill_(1);
      bn->bias.zero_();
    }
  }
  // Every residual block starts as the identity: its last BN's gamma is zero.
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* block = dynamic_cast<ResidualBlockImpl*>(module.get())) {
      block->last_bn()->weight.zero_();
    }
  }
}

}  // namespace pic
