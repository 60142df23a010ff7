// The sharded softmax and the classifier rows in a world of one rank: against pic_loss
// (autograd) and pic::Sgd. The multi-rank forms are tested under mpiexec
// (tests/mpi/sharded_pic_test.cpp).
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include "core/instance_classifier.h"
#include "core/instance_softmax.h"
#include "core/pic_head.h"

namespace {

double relative_error(const torch::Tensor& ours, const torch::Tensor& ref) {
  const double scale = std::max(ref.abs().max().item<double>(), 1e-12);
  return (ours.to(torch::kDouble) - ref.to(torch::kDouble)).abs().max().item<double>() / scale;
}

struct Dense {
  double loss;
  torch::Tensor grad_large, grad_small, grad_classifier;
};

// pic_loss with autograd over the classifier columns `columns` (all rows when undefined).
Dense dense_reference(const torch::Tensor& large, const torch::Tensor& small,
                      const torch::Tensor& classifier, const torch::Tensor& ids, double t,
                      const torch::Tensor& columns = {}) {
  torch::Tensor l = large.clone().requires_grad_(true);
  torch::Tensor s = small.clone().requires_grad_(true);
  torch::Tensor w = classifier.clone().requires_grad_(true);
  torch::Tensor used = columns.defined() ? w.index_select(0, columns) : w;
  torch::Tensor labels = columns.defined() ? torch::searchsorted(columns, ids) : ids;
  pic::MethodOutput out = pic::pic_loss({l, s}, used, labels, t);
  out.loss.backward();
  return {out.loss.item<double>(), l.grad(), s.grad(), w.grad()};
}

}  // namespace

TEST_CASE("instance softmax on one rank equals pic_loss, in one block or many", "[pic_head]") {
  torch::manual_seed(3);
  const int64_t n = 37, d = 12, batch = 5;
  const torch::Tensor classifier = torch::randn({n, d});
  const torch::Tensor ids = torch::tensor({3, 0, 36, 17, 8}, torch::kLong);
  const torch::Tensor large = torch::randn({2 * batch, d});  // two large crops, crop-major
  const torch::Tensor small = torch::randn({3 * batch, d});  // three small crops
  const Dense ref = dense_reference(large, small, classifier, ids, 0.2);

  auto comm = pic::make_local_communicator();
  for (int64_t chunk : {int64_t{65536}, int64_t{37}, int64_t{5}, int64_t{1}}) {
    pic::InstanceSoftmaxInput in;
    in.group_features = {large, small};
    in.instance_ids = ids;
    in.rows = classifier;
    in.row_ids = torch::arange(n, torch::kLong);
    in.temperature = 0.2;
    in.chunk_rows = chunk;
    const pic::InstanceSoftmaxResult out = pic::instance_softmax_cross_entropy(in, *comm);
    INFO("chunk " << chunk);
    CHECK(out.global_crops == 5 * batch);
    CHECK(out.loss == Approx(ref.loss).epsilon(1e-6));
    CHECK(relative_error(out.grad_group_features[0], ref.grad_large) < 1e-5);
    CHECK(relative_error(out.grad_group_features[1], ref.grad_small) < 1e-5);
    // Only the large crops train the classifier.
    CHECK(relative_error(out.grad_rows, ref.grad_classifier) < 1e-5);
  }
}

TEST_CASE("instance softmax over a subset of rows is the softmax over those columns",
          "[pic_head]") {
  torch::manual_seed(4);
  const int64_t n = 50, d = 8;
  const torch::Tensor classifier = torch::randn({n, d});
  const torch::Tensor ids = torch::tensor({4, 30, 11}, torch::kLong);
  const torch::Tensor columns = torch::tensor({1, 4, 9, 11, 22, 30, 49}, torch::kLong);
  const torch::Tensor large = torch::randn({3, d});
  const torch::Tensor small = torch::randn({3, d});
  const Dense ref = dense_reference(large, small, classifier, ids, 0.1, columns);

  auto comm = pic::make_local_communicator();
  pic::InstanceSoftmaxInput in;
  in.group_features = {large, small};
  in.instance_ids = ids;
  in.rows = classifier.index_select(0, columns);
  in.row_ids = columns;
  in.temperature = 0.1;
  in.chunk_rows = 3;
  const pic::InstanceSoftmaxResult out = pic::instance_softmax_cross_entropy(in, *comm);
  CHECK(out.loss == Approx(ref.loss).epsilon(1e-6));
  CHECK(relative_error(out.grad_group_features[0], ref.grad_large) < 1e-5);
  CHECK(relative_error(out.grad_rows, ref.grad_classifier.index_select(0, columns)) < 1e-5);

  // A label with no active row anywhere is an error, not a silent zero.
  in.row_ids = torch::tensor({1, 4, 9, 12, 22, 30, 49}, torch::kLong);
  CHECK_THROWS_WITH(pic::instance_softmax_cross_entropy(in, *comm),
                    Catch::Contains("label 11") && Catch::Contains("no classifier row"));
}

TEST_CASE("instance softmax: a zero feature row gets torch's normalize gradient", "[pic_head]") {
  torch::manual_seed(5);
  const torch::Tensor classifier = torch::randn({6, 4});
  const torch::Tensor ids = torch::tensor({2, 5}, torch::kLong);
  torch::Tensor large = torch::randn({2, 4});
  large[1].zero_();
  const torch::Tensor small = torch::randn({2, 4});
  const Dense ref = dense_reference(large, small, classifier, ids, 0.5);
  auto comm = pic::make_local_communicator();
  pic::InstanceSoftmaxInput in;
  in.group_features = {large, small};
  in.instance_ids = ids;
  in.rows = classifier;
  in.row_ids = torch::arange(6, torch::kLong);
  in.temperature = 0.5;
  const pic::InstanceSoftmaxResult out = pic::instance_softmax_cross_entropy(in, *comm);
  CHECK(out.loss == Approx(ref.loss).epsilon(1e-6));
  CHECK(relative_error(out.grad_group_features[0], ref.grad_large) < 1e-5);
}

TEST_CASE("classifier rows: PicModel's draw, Sgd's update, freeze and lazy", "[pic_head]") {
  const int64_t n = 20, d = 6;
  pic::InstanceClassifierConfig config;
  config.num_instances = n;
  config.rows = {5, 15};
  config.dim = d;
  config.seed = 9;
  config.sgd.momentum = 0.9;
  config.sgd.weight_decay = 0.05;

  // Rows [5, 15) of the global N x D draw, whatever the shard.
  const torch::Tensor all = pic::initial_classifier_rows(9, 0, n, d);
  config.correction = pic::UpdateCorrection::kFreeze;
  pic::InstanceClassifier frozen(config, nullptr);
  CHECK(torch::equal(frozen.weight(), all.slice(0, 5, 15)));
  CHECK(frozen.host_bytes() == 2 * 10 * d * 4);

  // Every row active: exactly pic::Sgd.
  torch::manual_seed(6);
  const torch::Tensor every = torch::arange(10, torch::kLong);
  torch::Tensor param = frozen.weight().clone();
  pic::Sgd sgd({{"w", param}}, config.sgd);
  for (int64_t step = 0; step < 3; ++step) {
    const torch::Tensor grad = torch::randn({10, d});
    param.mutable_grad() = grad.clone();
    sgd.step(0.3);
    frozen.active_rows(every, step);
    frozen.update(every, grad, 0.3, step);
  }
  CHECK(torch::equal(frozen.weight(), param));
  CHECK(torch::equal(frozen.momentum(), sgd.momentum_buffers()[0].second));

  // Freeze: rows outside the active set keep weight and momentum.
  const torch::Tensor some = torch::tensor({1, 4, 7}, torch::kLong);
  const torch::Tensor before = frozen.weight().clone(), before_buf = frozen.momentum().clone();
  frozen.update(some, torch::randn({3, d}), 0.3, 3);
  const torch::Tensor others = torch::tensor({0, 2, 3, 5, 6, 8, 9}, torch::kLong);
  CHECK(torch::equal(frozen.weight().index_select(0, others), before.index_select(0, others)));
  CHECK(
      torch::equal(frozen.momentum().index_select(0, others), before_buf.index_select(0, others)));
  CHECK(!torch::equal(frozen.weight().index_select(0, some), before.index_select(0, some)));

  // Lazy: a row touched at steps 0 and 40 equals the same row stepped every time with a zero
  // gradient in between; learning rates vary per step.
  std::vector<double> lr;
  for (int i = 0; i < 60; ++i) lr.push_back(0.05 + 0.01 * (i % 7));
  config.correction = pic::UpdateCorrection::kLazy;
  CHECK_THROWS_AS(pic::InstanceClassifier(config, nullptr), std::invalid_argument);
  pic::InstanceClassifier lazy(
      config, std::make_shared<pic::MissedSgdSteps>(lr, 0.9, config.sgd.weight_decay));
  torch::Tensor dense = lazy.weight().clone();
  pic::Sgd dense_sgd({{"w", dense}}, config.sgd);
  const torch::Tensor row = torch::tensor({2}, torch::kLong);
  const torch::Tensor g0 = torch::randn({1, d});
  for (int64_t step = 0; step < 41; ++step) {
    torch::Tensor grad = torch::zeros({10, d});
    if (step == 0 || step == 40) {
      lazy.active_rows(row, step);
      lazy.update(row, g0, lr[static_cast<size_t>(step)], step);
      grad[2] = g0[0];
    }
    dense.mutable_grad() = grad;
    dense_sgd.step(lr[static_cast<size_t>(step)]);
  }
  CHECK(relative_error(lazy.weight()[2], dense[2]) < 1e-5);
  CHECK(relative_error(lazy.momentum()[2], dense_sgd.momentum_buffers()[0].second[2]) < 1e-5);
  // Rows never active are caught up by catch_up_all (before a checkpoint).
  lazy.catch_up_all(41);
  CHECK(relative_error(lazy.weight(), dense) < 1e-5);
  CHECK(relative_error(lazy.momentum(), dense_sgd.momentum_buffers()[0].second) < 1e-5);
  CHECK_THROWS_AS(lazy.active_rows(row, 30), std::logic_error);  // rows never move backwards
}
