// ResNet family: parameter names and shapes against torchvision, and the original's init.
// Expected numbers were generated once with /usr/bin/python3 + torchvision 0.14:
// torchvision.models.resnet50(), and resnet18 with the `_d` stem and shortcuts swapped in.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <string>

#include "core/resnet.h"
#include "core/resnet_blocks.h"

namespace {

std::map<std::string, torch::Tensor> params_of(const torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value();
  return out;
}

int64_t total_numel(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

pic::ResNet make(const std::string& arch, double width = 1.0, bool mlp = false,
                 int64_t feature_dim = 1000, bool small_stem = false) {
  pic::ResNetConfig c;
  c.arch = arch;
  c.width = width;
  c.mlp_head = mlp;
  c.feature_dim = feature_dim;
  c.small_stem = small_stem;
  return pic::ResNet(c);
}

}  // namespace

TEST_CASE("resnet50 matches torchvision's names, shapes and parameter count", "[resnet]") {
  torch::manual_seed(0);
  auto net = make("resnet50");
  auto params = params_of(*net);
  CHECK(params.size() == 161);
  CHECK(net->named_buffers().size() == 159);
  CHECK(total_numel(*net) == 25557032);
  CHECK(net->named_parameters().keys().front() == "conv1.weight");
  CHECK(net->named_parameters().keys().back() == "fc.bias");
  CHECK(params.at("layer1.0.downsample.0.weight").sizes() == torch::IntArrayRef({256, 64, 1, 1}));
  CHECK(params.at("layer4.2.conv3.weight").sizes() == torch::IntArrayRef({2048, 512, 1, 1}));
  CHECK(net->named_buffers().contains("layer3.5.bn3.num_batches_tracked"));
  CHECK(net->backbone_dim() == 2048);
}

TEST_CASE("resnet18_d has the deep stem and average-pool shortcuts under the original's names",
          "[resnet]") {
  torch::manual_seed(0);
  auto net = make("resnet18_d");
  auto params = params_of(*net);
  CHECK(params.size() == 68);
  CHECK(net->named_buffers().size() == 66);
  CHECK(total_numel(*net) == 11708744);
  const auto keys = net->named_parameters().keys();
  const std::vector<std::string> stem(keys.begin(), keys.begin() + 8);
  CHECK(stem == std::vector<std::string>{"conv1.0.0.weight", "conv1.0.1.weight", "conv1.0.1.bias",
                                         "conv1.1.0.weight", "conv1.1.1.weight", "conv1.1.1.bias",
                                         "conv1.2.weight", "bn1.weight"});
  CHECK(params.at("layer2.0.downsample.1.weight").sizes() == torch::IntArrayRef({128, 64, 1, 1}));
  CHECK(params.count("layer2.0.downsample.2.weight") == 1);
  CHECK(params.count("layer2.0.downsample.0.weight") == 0);
  CHECK(params.count("layer1.0.downsample.1.weight") == 0);  // no shortcut: same shape
}

TEST_CASE("width, heads and the small stem set the shapes", "[resnet]") {
  torch::manual_seed(0);
  auto net = make("resnet18", 0.25, /*mlp=*/true, 128);
  auto params = params_of(*net);
  CHECK(params.at("conv1.weight").sizes() == torch::IntArrayRef({64, 3, 7, 7}));
  CHECK(params.at("layer1.0.conv1.weight").sizes() == torch::IntArrayRef({16, 64, 3, 3}));
  CHECK(params.at("layer1.0.downsample.0.weight").sizes() == torch::IntArrayRef({16, 64, 1, 1}));
  CHECK(params.at("fc1.weight").sizes() == torch::IntArrayRef({2048, 128}));
  CHECK(params.at("fc2.weight").sizes() == torch::IntArrayRef({128, 2048}));
  CHECK(params.count("fc.weight") == 0);

  // Small stem: 3x3 stride-1 conv, no max-pool; 28 px in, 4x4 before the global pool.
  auto small = make("resnet34", 0.125, false, 10, /*small_stem=*/true);
  CHECK(params_of(*small).at("conv1.weight").sizes() == torch::IntArrayRef({64, 3, 3, 3}));
  small->eval();
  CHECK(small->forward(torch::randn({2, 3, 28, 28})).sizes() == torch::IntArrayRef({2, 10}));
  auto small_d = make("resnet50_d", 0.0625, false, 0, /*small_stem=*/true);
  small_d->eval();
  CHECK(small_d->forward(torch::randn({2, 3, 27, 27})).sizes() == torch::IntArrayRef({2, 128}));

  CHECK_THROWS_WITH(make("resnet19"), Catch::Contains("resnet50_d"));
  CHECK_THROWS_AS(make("resnet18", 0.001), std::invalid_argument);
}

TEST_CASE(
    "initialisation follows the original: conv N(0, sqrt(2/(k*k*out))), BN 1/0, "
    "last BN gamma of every block 0",
    "[resnet]") {
  torch::manual_seed(1);
  for (const std::string arch : {"resnet18", "resnet50_d"}) {
    auto net = make(arch);
    auto params = params_of(*net);
    int zero_gamma_blocks = 0;
    for (const auto& [name, p] : params) {
      const bool bn = name.find("bn") != std::string::npos ||
                      (name.find("downsample") != std::string::npos && p.dim() == 1) ||
                      (name.rfind("conv1.", 0) == 0 && p.dim() == 1);
      if (p.dim() == 4) {
        // Conv: sample std within 5 sigma of the rule's value (a chi-square bound).
        const double fan_out = static_cast<double>(p.size(0) * p.size(2) * p.size(3));
        const double expected = std::sqrt(2.0 / fan_out);
        const double n = static_cast<double>(p.numel());
        const double std = p.std().item<double>();
        INFO(arch << " " << name << " std " << std << " expected " << expected);
        CHECK(std::abs(std / expected - 1) < 5 / std::sqrt(2 * n) + 1e-3);
        CHECK(std::abs(p.mean().item<double>()) < 5 * expected / std::sqrt(n));
      } else if (bn && name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0) {
        CHECK(p.abs().max().item<double>() == 0);
      } else if (bn) {
        const bool last =
            name.find(arch == "resnet18" ? ".bn2.weight" : ".bn3.weight") != std::string::npos;
        INFO(arch << " " << name);
        CHECK(p.min().item<double>() == (last ? 0.0 : 1.0));
        CHECK(p.max().item<double>() == (last ? 0.0 : 1.0));
        if (last) ++zero_gamma_blocks;
      }
    }
    CHECK(zero_gamma_blocks == (arch == "resnet18" ? 8 : 16));
    // Linear layers keep PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    const double bound = 1 / std::sqrt(static_cast<double>(net->backbone_dim()));
    CHECK(params.at("fc.weight").abs().max().item<double>() <= bound);
    CHECK(params.at("fc.bias").abs().max().item<double>() <= bound);
  }
}

TEST_CASE("a freshly initialised residual block without shortcut is the identity", "[resnet]") {
  // With the last BN gamma zero (and beta zero), a block outputs relu(x) = x for x >= 0.
  torch::manual_seed(2);
  auto net = make("resnet18", 0.25, false, 0, true);
  net->train();
  auto layer1 = net->named_children()["layer1"]->as<torch::nn::Sequential>();
  REQUIRE(layer1 != nullptr);
  auto block = std::dynamic_pointer_cast<pic::ResidualBlockImpl>(layer1->ptr(1));
  REQUIRE(block != nullptr);
  torch::Tensor h = torch::relu(torch::randn({2, 16, 8, 8}));
  CHECK(torch::equal(block->forward(h), h));
  // The first block has a 1x1 shortcut (64 -> 16 channels), so it is not the identity.
  auto first = std::dynamic_pointer_cast<pic::ResidualBlockImpl>(layer1->ptr(0));
  CHECK(first->forward(torch::relu(torch::randn({2, 64, 8, 8}))).size(1) == 16);
}
