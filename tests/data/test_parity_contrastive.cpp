// The baselines' losses (MoCo, SimCLR, InstDisc) against the original's heads on given
// features (heads.h5, groups `moco`, `simclr`, `instdisc`), plus their own properties.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/contrastive_losses.h"
#include "data/parity_check.h"
#include "data/reference_file.h"

namespace {

std::string heads_path() { return std::string(PIC_TESTDATA_DIR) + "/heads.h5"; }

void check_report(const pic::ParityReport& report, size_t expected_checks,
                  const std::string& group) {
  std::ostringstream table;
  report.print(table);
  INFO(table.str());
  CHECK(report.checks().size() == expected_checks);
  CHECK(report.passed());
  WARN("heads.h5 " << group << ": worst normwise relative error " << report.worst_rel_error());
}

// Throws std::invalid_argument whose message names `argument`.
template <typename Call>
void check_rejects(Call call, const std::string& argument) {
  try {
    call();
    FAIL("no exception; expected one naming " << argument);
  } catch (const std::invalid_argument& error) {
    INFO(error.what());
    CHECK(std::string(error.what()).find(argument) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("moco_loss matches the original's logits, loss and query gradient", "[parity]") {
  torch::set_num_threads(1);
  const pic::ReferenceFile file(heads_path());
  torch::Tensor q = file.read_tensor("moco/q").requires_grad_(true);  // [8, 16]
  torch::Tensor k = file.read_tensor("moco/k").requires_grad_(true);  // [8, 16]
  const torch::Tensor queue = file.read_tensor("moco/queue");         // [16, 32]
  const double temperature = file.read_double_attribute("moco", "temperature");

  pic::MethodOutput out = pic::moco_loss(q, k, queue, temperature);
  out.loss.backward();

  pic::ParityReport report;
  report.compare("moco/logits", out.logits, file.read_tensor("moco/logits"), pic::kValueTolerance);
  report.compare("moco/labels", out.labels, torch::zeros({8}, torch::kLong), 0);
  report.compare("moco/loss", out.loss,
                 torch::tensor(file.read_double_attribute("moco", "loss"), torch::kDouble),
                 pic::kValueTolerance);
  report.compare("moco/grad_q", q.grad(), file.read_tensor("moco/grad_q"), pic::kUpdateTolerance);
  check_report(report, 4, "moco");
  CHECK_FALSE(k.grad().defined());  // the key is used detached
}

TEST_CASE("enqueue_keys writes keys at the pointer and wraps around", "[contrastive]") {
  torch::Tensor queue = torch::zeros({2, 6});                           // [D = 2, K = 6]
  const torch::Tensor keys1 = torch::tensor({{1.f, 2.f}, {3.f, 4.f}});  // [2, 2]
  const torch::Tensor keys2 = torch::tensor({{5.f, 6.f}, {7.f, 8.f}});
  const torch::Tensor keys3 = torch::tensor({{9.f, 10.f}, {11.f, 12.f}});
  int64_t pointer = pic::enqueue_keys(queue, keys1, 2);
  CHECK(pointer == 4);
  pointer = pic::enqueue_keys(queue, keys2, pointer);
  CHECK(pointer == 0);  // wrapped
  pointer = pic::enqueue_keys(queue, keys3, pointer);
  CHECK(pointer == 2);
  const torch::Tensor expected =
      torch::tensor({{9.f, 11.f, 1.f, 3.f, 5.f, 7.f}, {10.f, 12.f, 2.f, 4.f, 6.f, 8.f}});
  CHECK(torch::equal(queue, expected));

  // A queue whose length is no multiple of the batch wraps inside a batch.
  torch::Tensor odd = torch::zeros({2, 3});
  CHECK(pic::enqueue_keys(odd, keys1, 2) == 1);
  CHECK(torch::equal(odd, torch::tensor({{3.f, 0.f, 1.f}, {4.f, 0.f, 2.f}})));

  // More keys than the queue holds, a bad pointer, a key of the wrong width.
  check_rejects([&] { pic::enqueue_keys(torch::zeros({2, 1}), keys1, 0); }, "keys");
  check_rejects([&] { pic::enqueue_keys(queue, keys1, 6); }, "pointer");
  check_rejects([&] { pic::enqueue_keys(queue, torch::zeros({2, 3}), 0); }, "keys");
  check_rejects([&] { pic::enqueue_keys(torch::zeros({6}), keys1, 0); }, "queue");
}

TEST_CASE("moco_loss rejects bad shapes naming the argument", "[contrastive]") {
  const torch::Tensor q = torch::randn({4, 8});
  const torch::Tensor queue = torch::randn({8, 16});
  check_rejects([&] { pic::moco_loss(torch::randn({4}), q, queue, 0.07); }, "query");
  check_rejects([&] { pic::moco_loss(q, torch::randn({3, 8}), queue, 0.07); }, "key");
  check_rejects([&] { pic::moco_loss(q, q, torch::randn({7, 16}), 0.07); }, "queue");
  check_rejects([&] { pic::moco_loss(q, q, queue, 0.0); }, "temperature");
}

namespace {

// Masked SimCLR logits (about -1e9, float32-exact only) are compared as "below -1e8"; the
// other entries normwise against each other with masked entries set to zero on both sides.
void compare_simclr_logits(pic::ParityReport& report, const torch::Tensor& ours,
                           const torch::Tensor& reference) {
  const torch::Tensor reference_masked = reference < -1e8;
  const torch::Tensor ours_masked = ours.detach() < -1e8;
  report.compare("simclr/logits masked entries", ours_masked, reference_masked, 0);
  report.compare("simclr/logits unmasked entries", ours.detach().masked_fill(ours_masked, 0),
                 reference.masked_fill(reference_masked, 0), pic::kValueTolerance);
}

}  // namespace

TEST_CASE("simclr_loss matches the original's logits, loss and gradients", "[parity]") {
  torch::set_num_threads(1);
  const pic::ReferenceFile file(heads_path());
  torch::Tensor f1 = file.read_tensor("simclr/f1").requires_grad_(true);  // [8, 16]
  torch::Tensor f2 = file.read_tensor("simclr/f2").requires_grad_(true);
  const double temperature = file.read_double_attribute("simclr", "temperature");
  REQUIRE(file.read_double_attribute("simclr", "large_num") == pic::kSimclrSelfMask);

  // One rank holding the whole batch: its rows are all the rows (gradient through the rows).
  pic::MethodOutput out = pic::simclr_loss(f1, f2, f1, f2, 0, temperature);
  out.loss.backward();

  const torch::Tensor reference_logits = file.read_tensor("simclr/logits");  // [16, 16]
  REQUIRE((reference_logits < -1e8).sum().item<int64_t>() == 16);
  pic::ParityReport report;
  compare_simclr_logits(report, out.logits, reference_logits);
  report.compare("simclr/labels", out.labels, file.read_tensor("simclr/labels"), 0);
  report.compare("simclr/loss", out.loss,
                 torch::tensor(file.read_double_attribute("simclr", "loss"), torch::kDouble),
                 pic::kValueTolerance);
  report.compare("simclr/grad_f1", f1.grad(), file.read_tensor("simclr/grad_f1"),
                 pic::kUpdateTolerance);
  report.compare("simclr/grad_f2", f2.grad(), file.read_tensor("simclr/grad_f2"),
                 pic::kUpdateTolerance);
  check_report(report, 6, "simclr");
}

TEST_CASE("simclr_loss over row blocks, weighted by rows, equals the whole batch",
          "[contrastive]") {
  torch::set_num_threads(1);
  const pic::ReferenceFile file(heads_path());
  const torch::Tensor f1_data = file.read_tensor("simclr/f1");  // [8, 16]
  const torch::Tensor f2_data = file.read_tensor("simclr/f2");
  const double temperature = file.read_double_attribute("simclr", "temperature");
  const int64_t total = f1_data.size(0);

  torch::Tensor f1 = f1_data.clone().requires_grad_(true);
  torch::Tensor f2 = f2_data.clone().requires_grad_(true);
  const torch::Tensor whole = pic::simclr_loss(f1, f2, f1, f2, 0, temperature).loss;
  whole.backward();

  const std::vector<std::vector<int64_t>> splits = {{4, 4}, {3, 3, 2}};
  for (const auto& split : splits) {
    INFO("block rows " << c10::str(split));
    torch::Tensor b1 = f1_data.clone().requires_grad_(true);
    torch::Tensor b2 = f2_data.clone().requires_grad_(true);
    torch::Tensor loss = torch::zeros({});
    int64_t offset = 0;
    for (int64_t rows : split) {
      pic::MethodOutput block = pic::simclr_loss(
          b1.narrow(0, offset, rows), b2.narrow(0, offset, rows), b1, b2, offset, temperature);
      CHECK(block.logits.sizes() == torch::IntArrayRef({2 * rows, 2 * total}));
      CHECK(torch::equal(block.labels.narrow(0, 0, rows),
                         torch::arange(offset, offset + rows, torch::kLong)));
      loss = loss + block.loss * (static_cast<double>(rows) / total);
      offset += rows;
    }
    REQUIRE(offset == total);
    loss.backward();
    const pic::TensorCheck loss_check =
        pic::compare_tensors("loss", loss, whole, pic::kValueTolerance);
    const pic::TensorCheck grad1 =
        pic::compare_tensors("grad_f1", b1.grad(), f1.grad(), pic::kUpdateTolerance);
    const pic::TensorCheck grad2 =
        pic::compare_tensors("grad_f2", b2.grad(), f2.grad(), pic::kUpdateTolerance);
    CHECK(loss_check.passed);
    CHECK(grad1.passed);
    CHECK(grad2.passed);
    WARN("simclr split " << c10::str(split) << ": loss rel " << loss_check.rel_error
                         << ", grad_f1 rel " << grad1.rel_error << ", grad_f2 rel "
                         << grad2.rel_error);
    // Only reordering of float sums separates the two: far below the tolerances.
    CHECK(loss_check.rel_error < 1e-6);
    CHECK(grad1.rel_error < 1e-5);
    CHECK(grad2.rel_error < 1e-5);
  }
}

TEST_CASE("simclr_loss rejects bad shapes naming the argument", "[contrastive]") {
  const torch::Tensor all = torch::randn({6, 8});
  const torch::Tensor local = all.narrow(0, 2, 2);
  check_rejects([&] { pic::simclr_loss(local, local, torch::randn({6}), all, 2, 0.1); }, "all_f1");
  check_rejects(
      [&] {
        pic::simclr_loss(local, local, all, torch::randn({5, 8}), 2, 0.1);
      },
      "all_f2");
  check_rejects(
      [&] {
        pic::simclr_loss(torch::randn({2, 7}), local, all, all, 2, 0.1);
      },
      "local_f1");
  check_rejects(
      [&] {
        pic::simclr_loss(local, torch::randn({3, 8}), all, all, 2, 0.1);
      },
      "local_f2");
  check_rejects([&] { pic::simclr_loss(local, local, all, all, 5, 0.1); }, "row_offset");
  check_rejects([&] { pic::simclr_loss(local, local, all, all, -1, 0.1); }, "row_offset");
  check_rejects([&] { pic::simclr_loss(local, local, all, all, 0, -1.0); }, "temperature");
}

TEST_CASE("instdisc_loss and the bank update match the original", "[parity]") {
  torch::set_num_threads(1);
  const pic::ReferenceFile file(heads_path());
  torch::Tensor x = file.read_tensor("instdisc/x").requires_grad_(true);  // [8, 16]
  // [50, 16]; its rows are not unit length (the original normalises columns), used as given.
  torch::Tensor bank = file.read_tensor("instdisc/memory_before").requires_grad_(true);
  const torch::Tensor ids = file.read_tensor("instdisc/y_idx");              // [8]
  const torch::Tensor sample_idx = file.read_tensor("instdisc/sample_idx");  // [8, 11]
  const double temperature = file.read_double_attribute("instdisc", "temperature");
  const double momentum = file.read_double_attribute("instdisc", "momentum");

  pic::MethodOutput out = pic::instdisc_loss(x, bank, ids, sample_idx, temperature);
  out.loss.backward();
  CHECK_FALSE(bank.grad().defined());  // only the features are trained

  const torch::Tensor updated = bank.detach().clone();
  pic::update_memory_bank(updated, x, ids, momentum);

  pic::ParityReport report;
  report.compare("instdisc/logits", out.logits, file.read_tensor("instdisc/logits"),
                 pic::kValueTolerance);
  report.compare("instdisc/labels", out.labels, torch::zeros({8}, torch::kLong), 0);
  report.compare("instdisc/loss", out.loss,
                 torch::tensor(file.read_double_attribute("instdisc", "loss"), torch::kDouble),
                 pic::kValueTolerance);
  report.compare("instdisc/grad_x", x.grad(), file.read_tensor("instdisc/grad_x"),
                 pic::kUpdateTolerance);
  report.compare("instdisc/memory_after", updated, file.read_tensor("instdisc/memory_after"),
                 pic::kUpdateTolerance);
  check_report(report, 5, "instdisc");

  // Rows outside the batch are untouched; the updated rows are unit length.
  const torch::Tensor touched =
      torch::zeros({bank.size(0)}, torch::kBool).index_fill_(0, ids, true);
  CHECK(torch::equal(updated.index({~touched}), bank.detach().index({~touched})));
  CHECK(torch::allclose(updated.index_select(0, ids).norm(2, 1), torch::ones({8}), 0, 1e-6));
}

TEST_CASE("instdisc rejects bad shapes naming the argument", "[contrastive]") {
  const torch::Tensor x = torch::randn({4, 8});
  const torch::Tensor bank = torch::randn({20, 8});
  const torch::Tensor ids = torch::tensor({1, 5, 7, 19}, torch::kLong);
  const torch::Tensor samples =
      torch::cat({ids.unsqueeze(1), torch::zeros({4, 3}, torch::kLong)}, 1);
  check_rejects([&] { pic::instdisc_loss(torch::randn({4}), bank, ids, samples, 0.07); },
                "features");
  check_rejects(
      [&] {
        pic::instdisc_loss(x, torch::randn({20, 7}), ids, samples, 0.07);
      },
      "memory_bank");
  check_rejects([&] { pic::instdisc_loss(x, bank, ids.narrow(0, 0, 3), samples, 0.07); },
                "instance_ids");
  check_rejects([&] { pic::instdisc_loss(x, bank, ids.to(torch::kInt), samples, 0.07); },
                "instance_ids");
  check_rejects([&] { pic::instdisc_loss(x, bank, ids, samples.narrow(0, 0, 3), 0.07); },
                "sample_idx");
  check_rejects([&] { pic::instdisc_loss(x, bank, ids, samples + 20, 0.07); }, "sample_idx");
  check_rejects([&] { pic::instdisc_loss(x, bank, ids, samples.roll(1, 1), 0.07); }, "sample_idx");
  check_rejects([&] { pic::update_memory_bank(bank, torch::randn({4, 9}), ids, 0.5); }, "features");
  check_rejects([&] { pic::update_memory_bank(bank, x, ids + 1, 0.5); }, "instance_ids");
  check_rejects([&] { pic::update_memory_bank(bank, x, ids, 1.5); }, "momentum");
}
