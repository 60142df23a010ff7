// pic_loss against the original's PIC head on given features (heads.h5, group `pic`).
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <sstream>

#include "core/pic_head.h"
#include "data/parity_check.h"
#include "data/reference_file.h"

TEST_CASE("pic_loss matches the original's logits, loss and gradients", "[parity]") {
  torch::set_num_threads(1);
  const pic::ReferenceFile file(std::string(PIC_TESTDATA_DIR) + "/heads.h5");
  torch::Tensor feature = file.read_tensor("pic/feature").requires_grad_(true);  // [8, 16]
  torch::Tensor weight = file.read_tensor("pic/weight").requires_grad_(true);    // [40, 16]
  const torch::Tensor ids = file.read_tensor("pic/y_idx");                       // [8]
  const double temperature = file.read_double_attribute("pic", "temperature");

  pic::MethodOutput out = pic::pic_loss({feature}, weight, ids, temperature);
  out.loss.backward();

  pic::ParityReport report;
  report.compare("pic/logits", out.logits, file.read_tensor("pic/logits"), pic::kValueTolerance);
  report.compare("pic/labels", out.labels, ids, 0);
  report.compare("pic/loss", out.loss,
                 torch::tensor(file.read_double_attribute("pic", "loss"), torch::kDouble),
                 pic::kValueTolerance);
  report.compare("pic/grad_feature", feature.grad(), file.read_tensor("pic/grad_feature"),
                 pic::kUpdateTolerance);
  report.compare("pic/grad_weight", weight.grad(), file.read_tensor("pic/grad_weight"),
                 pic::kUpdateTolerance);
  std::ostringstream table;
  report.print(table);
  INFO(table.str());
  CHECK(report.checks().size() == 5);
  CHECK(report.passed());
  WARN("heads.h5 pic: worst normwise relative error " << report.worst_rel_error());
}
