// PicModel's names and its classifier draw; pic_loss on crop groups.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include "core/pic_head.h"

namespace {

pic::ResNetConfig tiny_encoder() {
  pic::ResNetConfig c;
  c.arch = "resnet18";
  c.width = 0.125;
  c.small_stem = true;
  c.feature_dim = 8;
  return c;
}

pic::PicConfig pic_config(int64_t num_instances, uint64_t seed) {
  pic::PicConfig c;
  c.num_instances = num_instances;
  c.temperature = 0.2;
  c.seed = seed;
  return c;
}

}  // namespace

TEST_CASE("PicModel names its parts encoder.* and sim_matrix", "[pic]") {
  torch::manual_seed(0);
  pic::PicModel model(tiny_encoder(), pic_config(10, 3));
  auto params = model->named_parameters();
  CHECK(params.contains("encoder.conv1.weight"));
  CHECK(params.contains("encoder.fc.bias"));
  CHECK(params.contains("sim_matrix"));
  CHECK(model->named_buffers().contains("encoder.layer1.0.bn1.num_batches_tracked"));
  CHECK(model->sim_matrix.sizes() == torch::IntArrayRef({10, 8}));
}

TEST_CASE("sim_matrix rows depend on (seed, row) only, N(0, 0.01)", "[pic]") {
  pic::PicModel small(tiny_encoder(), pic_config(5, 42));
  pic::PicModel large(tiny_encoder(), pic_config(2000, 42));
  pic::PicModel other(tiny_encoder(), pic_config(5, 43));
  CHECK(torch::equal(small->sim_matrix, large->sim_matrix.slice(0, 0, 5)));
  CHECK(!torch::equal(small->sim_matrix, other->sim_matrix));
  const double std = large->sim_matrix.std().item<double>();
  CHECK(std == Approx(0.01).epsilon(0.03));  // 16000 draws: relative std error ~0.6%
  CHECK(std::abs(large->sim_matrix.mean().item<double>()) < 5 * 0.01 / std::sqrt(16000.0));
}

TEST_CASE("pic_loss: small-crop groups do not train the classifier", "[pic]") {
  torch::manual_seed(1);
  torch::Tensor classifier = torch::randn({6, 4}).requires_grad_(true);
  torch::Tensor ids = torch::tensor({1, 4}, torch::kLong);
  torch::Tensor large = torch::randn({4, 4});  // two large crops per image, crop-major
  torch::Tensor small = torch::randn({2, 4}).requires_grad_(true);
  auto out = pic::pic_loss({large, small}, classifier, ids, 0.5);
  CHECK(out.logits.sizes() == torch::IntArrayRef({6, 6}));
  CHECK(torch::equal(out.labels, torch::tensor({1, 4, 1, 4, 1, 4}, torch::kLong)));

  // The loss is the mean cross-entropy of all rows; logits are cosines / temperature.
  auto w = classifier.detach() / classifier.detach().norm(2, 1, true);
  auto f = large / large.norm(2, 1, true);
  CHECK(torch::allclose(out.logits.slice(0, 0, 4), f.mm(w.t()) / 0.5, 1e-5, 1e-6));

  // Only the large-crop group's logits reach the classifier (the concatenation passes zeros
  // back to the large-crop rows here).
  out.logits.slice(0, 4, 6).sum().backward();
  CHECK(classifier.grad().abs().max().item<double>() == 0);
  CHECK(small.grad().defined());
  CHECK_THROWS_AS(pic::pic_loss({torch::randn({3, 4})}, classifier, ids, 0.5),
                  std::invalid_argument);
}
