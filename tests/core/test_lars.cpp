// pic::Lars behaviour that needs no reference file: 1-D parameters are plain SGD, a zero weight
// gets no trust scaling, a hand-computed trust ratio, state layout and option checks.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <stdexcept>

#include "core/lars.h"
#include "core/sgd.h"

namespace {

torch::Tensor with_grad(torch::Tensor value, const torch::Tensor& grad) {
  value.mutable_grad() = grad.clone();
  return value;
}

}  // namespace

TEST_CASE("lars_adapts only tensors with more than one dimension", "[lars]") {
  CHECK(pic::lars_adapts(torch::zeros({4, 6})));
  CHECK(pic::lars_adapts(torch::zeros({8, 3, 3, 3})));
  CHECK_FALSE(pic::lars_adapts(torch::zeros({4})));
  CHECK_FALSE(pic::lars_adapts(torch::zeros({})));
}

TEST_CASE("Lars updates a 1-D parameter exactly like Sgd without weight decay", "[lars]") {
  torch::manual_seed(3);
  const torch::Tensor init = torch::randn({7});
  const torch::Tensor grads = torch::randn({3, 7});
  torch::Tensor lars_param = init.clone();
  torch::Tensor sgd_param = init.clone();
  pic::Lars lars({{"bias", lars_param}}, pic::LarsOptions{0.9, 0.5, 1e-3, 1e-8});
  pic::Sgd sgd({{"bias", sgd_param}}, pic::SgdOptions{0.9, 0.0});
  for (int64_t step = 0; step < 3; ++step) {
    lars_param.mutable_grad() = grads[step].clone();
    sgd_param.mutable_grad() = grads[step].clone();
    lars.step(0.3);
    sgd.step(0.3);
  }
  CHECK(torch::equal(lars_param, sgd_param));
  CHECK(torch::equal(lars.momentum_buffers()[0].second, sgd.momentum_buffers()[0].second));
  CHECK_FALSE(torch::equal(lars_param, init));
}

TEST_CASE("Lars leaves a zero weight unscaled: plain SGD with weight decay", "[lars]") {
  torch::manual_seed(4);
  const torch::Tensor grad = torch::randn({3, 5});
  torch::Tensor lars_param = with_grad(torch::zeros({3, 5}), grad);
  torch::Tensor sgd_param = with_grad(torch::zeros({3, 5}), grad);
  pic::Lars lars({{"w", lars_param}}, pic::LarsOptions{0.9, 1e-4, 1e-3, 1e-8});
  pic::Sgd sgd({{"w", sgd_param}}, pic::SgdOptions{0.9, 1e-4});
  lars.step(0.5);
  sgd.step(0.5);
  CHECK(torch::equal(lars_param, sgd_param));
  CHECK(torch::allclose(lars_param, -0.5 * grad));
}

TEST_CASE("Lars scales a weight's step by trust * |w| / (|g + wd w| + eps)", "[lars]") {
  // w = [[3, 4]] (|w| = 5), grad = [[0, 1]], wd = 0.2: g = [[0.6, 1.8]], |g| = sqrt(3.6).
  torch::Tensor w = with_grad(torch::tensor({{3.0, 4.0}}, torch::kDouble),
                              torch::tensor({{0.0, 1.0}}, torch::kDouble));
  pic::Lars lars({{"w", w}}, pic::LarsOptions{0.9, 0.2, 0.01, 0.0});
  lars.step(2.0);
  const double scale = 0.01 * 5.0 / std::sqrt(3.6);
  const torch::Tensor expected_buf = torch::tensor({{0.6, 1.8}}, torch::kDouble) * scale;
  CHECK(torch::allclose(lars.momentum_buffers()[0].second, expected_buf, 0, 1e-15));
  CHECK(torch::allclose(w, torch::tensor({{3.0, 4.0}}, torch::kDouble) - 2.0 * expected_buf, 0,
                        1e-15));
  // Second step: the momentum buffer carries the first scaled gradient.
  const torch::Tensor w1 = w.clone();
  w.mutable_grad() = torch::tensor({{1.0, 0.0}}, torch::kDouble);
  lars.step(2.0);
  const torch::Tensor g2 = torch::tensor({{1.0, 0.0}}, torch::kDouble) + 0.2 * w1;
  const torch::Tensor scaled = g2 * (0.01 * w1.norm() / g2.norm());
  const torch::Tensor buf2 = 0.9 * expected_buf + scaled;
  CHECK(torch::allclose(w, w1 - 2.0 * buf2, 0, 1e-14));
}

TEST_CASE("Lars momentum buffers start at zero with the parameters' names", "[lars]") {
  pic::Lars lars({{"fc.weight", torch::ones({4, 6})}, {"fc.bias", torch::ones({4})}},
                 pic::LarsOptions{});
  REQUIRE(lars.momentum_buffers().size() == 2);
  CHECK(lars.momentum_buffers()[0].first == "fc.weight");
  CHECK(lars.momentum_buffers()[1].first == "fc.bias");
  CHECK(lars.momentum_buffers()[0].second.sizes() == torch::IntArrayRef({4, 6}));
  CHECK(lars.momentum_buffers()[0].second.abs().sum().item<double>() == 0);
  CHECK(lars.momentum_buffers()[1].second.abs().sum().item<double>() == 0);
  // A parameter without a gradient is skipped, as in Sgd.
  lars.step(0.1);
  CHECK(lars.parameters()[0].second.eq(1).all().item<bool>());
  CHECK(lars.options().trust_coefficient == 1e-3);
  CHECK(lars.options().eps == 1e-8);
}

TEST_CASE("Lars rejects invalid options and undefined parameters", "[lars]") {
  const auto make = [](pic::LarsOptions options) {
    pic::Lars lars({{"w", torch::ones({2, 2})}}, options);
  };
  CHECK_THROWS_AS(make({-0.1, 1e-4, 1e-3, 1e-8}), std::invalid_argument);
  CHECK_THROWS_AS(make({0.9, -1e-4, 1e-3, 1e-8}), std::invalid_argument);
  CHECK_THROWS_AS(make({0.9, 1e-4, 0.0, 1e-8}), std::invalid_argument);
  CHECK_THROWS_AS(make({0.9, 1e-4, -1e-3, 1e-8}), std::invalid_argument);
  CHECK_THROWS_AS(make({0.9, 1e-4, 1e-3, -1e-8}), std::invalid_argument);
  CHECK_THROWS_AS(make({0.9, 1e-4, std::nan(""), 1e-8}), std::invalid_argument);
  CHECK_NOTHROW(make({}));
  CHECK_THROWS_AS(pic::Lars({{"w", torch::Tensor()}}, pic::LarsOptions{}), std::invalid_argument);
}
