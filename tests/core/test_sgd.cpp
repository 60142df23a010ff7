// Sgd against a hand computation of PyTorch's rule (no dampening, no Nesterov):
//   d = g + wd * w;  buf = momentum * buf + d (buf = d on the first step);  w -= lr * buf
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include "core/sgd.h"

TEST_CASE("Sgd follows PyTorch's momentum and weight-decay rule", "[sgd]") {
  torch::Tensor w = torch::tensor({1.0f, -2.0f}).requires_grad_(true);
  torch::Tensor unused = torch::tensor({5.0f}).requires_grad_(true);  // never gets a grad
  pic::Sgd sgd({{"w", w}, {"unused", unused}}, {/*momentum=*/0.5, /*weight_decay=*/0.1});

  // Step 1: g = 2w = (2, -4); d = g + 0.1 w = (2.1, -4.2); buf = d; w -= 0.1 * buf.
  (w * w).sum().backward();
  sgd.step(0.1);
  CHECK(w[0].item<double>() == Approx(1.0 - 0.1 * 2.1).epsilon(1e-6));
  CHECK(w[1].item<double>() == Approx(-2.0 + 0.1 * 4.2).epsilon(1e-6));
  CHECK(unused.item<double>() == 5.0);

  // Step 2 with w1 = (0.79, -1.58): d = 2.1 * w1; buf = 0.5 * buf1 + d; w2 = w1 - 0.2 * buf.
  sgd.zero_grad();
  CHECK(w.grad().abs().sum().item<double>() == 0);
  (w * w).sum().backward();
  sgd.step(0.2);
  const double w1[2] = {0.79, -1.58}, buf1[2] = {2.1, -4.2};
  for (int i = 0; i < 2; ++i) {
    const double buf2 = 0.5 * buf1[i] + 2.1 * w1[i];
    CHECK(w[i].item<double>() == Approx(w1[i] - 0.2 * buf2).epsilon(1e-6));
    CHECK(sgd.momentum_buffers()[0].second[i].item<double>() == Approx(buf2).epsilon(1e-6));
  }
  CHECK(sgd.momentum_buffers()[1].first == "unused");
  CHECK(sgd.momentum_buffers()[1].second.item<double>() == 0);
}

TEST_CASE("Sgd without momentum is plain gradient descent with weight decay", "[sgd]") {
  torch::Tensor w = torch::tensor({3.0f}).requires_grad_(true);
  pic::Sgd sgd({{"w", w}}, {0.0, 0.0});
  for (int step = 0; step < 3; ++step) {
    sgd.zero_grad();
    (w * w).sum().backward();  // g = 2w: w <- w (1 - 2 lr)
    sgd.step(0.25);
  }
  CHECK(w.item<double>() == Approx(3.0 * 0.125));
  CHECK_THROWS_AS(pic::Sgd({{"w", w}}, {-0.1, 0.0}), std::invalid_argument);
}
