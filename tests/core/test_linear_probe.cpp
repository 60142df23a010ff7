// The linear probe of pic-linear: counting, loss, one SGD step against autograd, and a
// separable problem that must be learned perfectly.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/communicator.h"
#include "core/counter_rng.h"
#include "core/linear_probe.h"

using pic::LinearClassifier;
using pic::LinearProbeConfig;
using pic::LinearProbeTrainer;

TEST_CASE("count_topk counts hand-made logits exactly", "[linear_probe]") {
  // 7 classes, so that top-5 differs from "all classes".
  auto logits = torch::tensor({{9.f, 1.f, 2.f, 3.f, 4.f, 5.f, 6.f},    // label 0: rank 1
                               {9.f, 8.f, 7.f, 6.f, 5.f, 4.f, 3.f},    // label 4: rank 5
                               {9.f, 8.f, 7.f, 6.f, 5.f, 4.f, 3.f},    // label 5: rank 6
                               {1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f},    // label 5: rank 2
                               {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f}});  // tie: counts as rank 1
  auto labels = torch::tensor({0, 4, 5, 5, 3}, torch::kInt64);
  auto counts = pic::count_topk(logits, labels);
  CHECK(counts.num_samples == 5);
  CHECK(counts.top1_correct == 2);  // rows 0 and 4
  CHECK(counts.top5_correct == 4);  // all but row 2
  CHECK(counts.top1() == Approx(40.0));
  CHECK(counts.top5() == Approx(80.0));

  // Fewer than 5 classes: top-5 means top-C, always correct.
  auto small = pic::count_topk(torch::tensor({{0.f, 1.f, 2.f}}), torch::tensor({0}, torch::kInt64));
  CHECK(small.top1_correct == 0);
  CHECK(small.top5_correct == 1);

  // Counts add up.
  auto sum = counts;
  sum += small;
  CHECK(sum.num_samples == 6);
  CHECK(sum.top5_correct == 5);
}

TEST_CASE("count_topk's loss is torch's cross-entropy", "[linear_probe]") {
  torch::manual_seed(3);
  auto logits = torch::randn({37, 11}) * 4;
  auto labels = torch::randint(0, 11, {37}, torch::kInt64);
  auto counts = pic::count_topk(logits, labels);
  const double expected =
      torch::nn::functional::cross_entropy(
          logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
          .item<double>();
  CHECK(counts.loss_sum == Approx(expected).epsilon(1e-6));
  // And by hand, in double: -z_y + log sum exp z.
  double by_hand = 0;
  auto z = logits.to(torch::kFloat64);
  for (int64_t i = 0; i < 37; ++i) {
    by_hand += -z[i][labels[i].item<int64_t>()].item<double>() + z[i].logsumexp(0).item<double>();
  }
  CHECK(counts.loss_sum == Approx(by_hand).epsilon(1e-12));
  CHECK(counts.mean_loss() == Approx(by_hand / 37).epsilon(1e-12));
}

TEST_CASE("LinearClassifier has PyTorch's default init bounds and is seeded", "[linear_probe]") {
  LinearClassifier a(64, 10, 7), b(64, 10, 7), c(64, 10, 8);
  CHECK(a.weight().sizes() == torch::IntArrayRef({10, 64}));
  CHECK(a.bias().sizes() == torch::IntArrayRef({10}));
  CHECK(torch::equal(a.weight(), b.weight()));
  CHECK(torch::equal(a.bias(), b.bias()));
  CHECK_FALSE(torch::equal(a.weight(), c.weight()));
  const double bound = 1.0 / 8.0;
  CHECK(a.weight().abs().max().item<double>() <= bound);
  CHECK(a.bias().abs().max().item<double>() <= bound);
  // Uniform on [-b, b]: standard deviation b / sqrt(3), over 640 draws.
  CHECK(a.weight().std().item<double>() == Approx(bound / std::sqrt(3.0)).epsilon(0.1));
}

TEST_CASE("one probe step is SGD on the autograd gradient of the mean cross-entropy",
          "[linear_probe]") {
  auto comm = pic::make_local_communicator();
  torch::manual_seed(11);
  const int64_t N = 50, D = 6, C = 4;
  auto x = torch::randn({N, D});
  auto y = torch::randint(0, C, {N}, torch::kInt64);

  LinearClassifier probe(D, C, 1);
  auto w0 = probe.weight().clone().requires_grad_(true);
  auto b0 = probe.bias().clone().requires_grad_(true);
  auto loss = torch::nn::functional::cross_entropy(torch::addmm(b0, x, w0.t()), y);
  loss.backward();

  LinearProbeConfig config;
  config.learning_rate = 0.5;
  config.warmup_epochs = 0;
  config.epochs = 1;
  config.weight_decay = 0.0;
  config.chunk_size = 16;  // 50 samples: chunks 16, 16, 16, 2
  LinearProbeTrainer trainer(probe, config, /*iters_per_epoch=*/1, *comm);
  CHECK(trainer.current_lr() == Approx(0.5));
  std::vector<int64_t> all(N);
  for (int64_t i = 0; i < N; ++i) all[i] = i;
  const double step_loss = trainer.step_on_replicated(x, y, all);

  CHECK(step_loss == Approx(loss.item<double>()).epsilon(1e-6));
  auto expected_w = w0.detach() - 0.5 * w0.grad();
  auto expected_b = b0.detach() - 0.5 * b0.grad();
  CHECK(torch::allclose(probe.weight(), expected_w, 1e-5, 1e-6));
  CHECK(torch::allclose(probe.bias(), expected_b, 1e-5, 1e-6));

  // The data-parallel step on the same samples takes the same step (one rank).
  LinearClassifier twin(D, C, 1);
  LinearProbeTrainer twin_trainer(twin, config, 1, *comm);
  CHECK(twin_trainer.step_on_local_batch(x, y) == Approx(step_loss).epsilon(1e-6));
  CHECK(torch::allclose(twin.weight(), probe.weight(), 1e-5, 1e-6));
}

TEST_CASE("epoch_permutation is a permutation keyed by seed and epoch", "[linear_probe]") {
  auto p = pic::epoch_permutation(100, 5, 1);
  auto sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 100; ++i) CHECK(sorted[i] == i);
  CHECK(p == pic::epoch_permutation(100, 5, 1));
  CHECK(p != pic::epoch_permutation(100, 5, 2));
  CHECK(p != pic::epoch_permutation(100, 6, 1));
}

TEST_CASE("a linearly separable problem is learned to 100%", "[linear_probe]") {
  auto comm = pic::make_local_communicator();
  // 5 classes around well separated centres in 16-d, plus noise.
  const int64_t C = 5, D = 16, per_class = 80;
  torch::manual_seed(2);
  auto centres = torch::randn({C, D}) * 3;
  auto make = [&](int64_t n) {
    auto labels = torch::arange(C, torch::kInt64).repeat({n});
    auto features = centres.index_select(0, labels) + 0.5 * torch::randn({C * n, D});
    return std::make_pair(features, labels);
  };
  auto [train_x, train_y] = make(per_class);
  auto [val_x, val_y] = make(20);

  LinearClassifier probe(D, C, 0);
  auto before = pic::evaluate_linear(probe, val_x, val_y, 33, *comm);
  CHECK(before.num_samples == C * 20);

  LinearProbeConfig config;
  config.learning_rate = 1.0;
  config.warmup_epochs = 1;
  config.epochs = 10;
  config.total_batch_size = 50;
  std::vector<double> epoch_losses;
  pic::train_linear_on_features(
      probe, train_x, train_y, config, *comm,
      [&](int64_t, double loss, double) { epoch_losses.push_back(loss); });
  REQUIRE(epoch_losses.size() == 10);
  CHECK(epoch_losses.back() < epoch_losses.front());

  auto after = pic::evaluate_linear(probe, val_x, val_y, 33, *comm);
  CHECK(after.num_samples == C * 20);
  CHECK(after.top1_correct == C * 20);
  CHECK(after.top1() == Approx(100.0));
  CHECK(after.mean_loss() < before.mean_loss());

  // Too few samples for one global batch is an error, not an empty training.
  config.total_batch_size = 1000;
  CHECK_THROWS_AS(pic::train_linear_on_features(probe, train_x, train_y, config, *comm, nullptr),
                  std::invalid_argument);
}
