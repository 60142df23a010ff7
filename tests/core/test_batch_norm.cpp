// pic::BatchNorm2d without synchronisation is torch's BatchNorm2d: same names, same outputs,
// gradients and running statistics in training and in eval mode. (The synchronised path is
// tested across ranks in tests/mpi/baselines_test.cpp.)
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/batch_norm.h"
#include "core/resnet.h"

namespace {

std::vector<std::string> keys_of(const torch::OrderedDict<std::string, torch::Tensor>& dict) {
  std::vector<std::string> keys;
  for (const auto& item : dict) keys.push_back(item.key());
  return keys;
}

}  // namespace

TEST_CASE("BatchNorm2d matches torch::nn::BatchNorm2d", "[batch_norm]") {
  torch::manual_seed(3);
  pic::BatchNorm2d ours(5);
  torch::nn::BatchNorm2d theirs(5);
  CHECK(keys_of(ours->named_parameters()) == keys_of(theirs->named_parameters()));
  CHECK(keys_of(ours->named_buffers()) == keys_of(theirs->named_buffers()));
  {
    torch::NoGradGuard no_grad;
    ours->weight.uniform_(0.5, 1.5);
    ours->bias.uniform_(-0.5, 0.5);
    theirs->weight.copy_(ours->weight);
    theirs->bias.copy_(ours->bias);
  }
  for (int step = 0; step < 3; ++step) {
    torch::Tensor x1 = (torch::randn({4, 5, 3, 3}) * 2 + 1).requires_grad_(true);
    torch::Tensor x2 = x1.detach().clone().requires_grad_(true);
    const torch::Tensor y1 = ours->forward(x1);
    const torch::Tensor y2 = theirs->forward(x2);
    CHECK(torch::allclose(y1, y2, 1e-5, 1e-6));
    const torch::Tensor dy = torch::randn_like(y1);
    y1.backward(dy);
    y2.backward(dy);
    CHECK(torch::allclose(x1.grad(), x2.grad(), 1e-5, 1e-6));
    CHECK(torch::allclose(ours->weight.grad(), theirs->weight.grad(), 1e-5, 1e-6));
    CHECK(torch::allclose(ours->bias.grad(), theirs->bias.grad(), 1e-5, 1e-6));
  }
  CHECK(torch::allclose(ours->running_mean, theirs->running_mean, 1e-6, 1e-7));
  CHECK(torch::allclose(ours->running_var, theirs->running_var, 1e-6, 1e-7));
  CHECK(ours->num_batches_tracked.item<int64_t>() == 3);

  ours->eval();
  theirs->eval();
  const torch::Tensor x = torch::randn({2, 5, 4, 4});
  CHECK(torch::allclose(ours->forward(x), theirs->forward(x), 1e-5, 1e-6));
  CHECK(ours->num_batches_tracked.item<int64_t>() == 3);  // eval does not count
}

TEST_CASE("BatchNorm2d: one-rank synchronisation changes nothing; the ResNet uses it",
          "[batch_norm]") {
  auto local = pic::make_local_communicator();
  pic::ResNetConfig config;
  config.arch = "resnet18";
  config.width = 0.125;
  config.small_stem = true;
  config.feature_dim = 4;
  torch::manual_seed(1);
  pic::ResNet plain(config);
  torch::manual_seed(1);
  pic::ResNet synced(config);
  // stem bn1 + two per BasicBlock (8 blocks) + a downsample BN at the start of each stage
  // (at width 1/8 even stage 1 changes the channel count: 64 -> 8)
  CHECK(pic::synchronise_batch_norm(*synced, local.get()) == 1 + 16 + 4);
  const torch::Tensor x = torch::randn({3, 3, 8, 8});
  CHECK(torch::equal(plain->forward(x), synced->forward(x)));

  pic::BatchNorm2d bn(4);
  CHECK_THROWS_WITH(bn->forward(torch::randn({2, 3, 2, 2})), Catch::Contains("[B, 4, H, W]"));
}
