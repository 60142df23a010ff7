// pic::Lars against the original's LARS-wrapped SGD (lars.h5): Linear(6 -> 4), objective the
// sum of squared outputs, three steps.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <sstream>

#include "core/lars.h"
#include "data/parity_check.h"
#include "data/reference_file.h"

TEST_CASE("Lars matches the original's three LARS steps on a Linear layer", "[parity]") {
  torch::set_num_threads(1);
  const pic::ReferenceFile file(std::string(PIC_TESTDATA_DIR) + "/lars.h5");
  const double lr = file.read_double_attribute("/", "lr");
  const int64_t steps = file.read_int_attribute("/", "steps");
  REQUIRE(file.read_string_attribute("/", "objective") == "sum of squared outputs");
  REQUIRE(file.read_int_attribute("/", "bias_excluded") == 1);
  pic::LarsOptions options;
  options.momentum = file.read_double_attribute("/", "momentum");
  options.weight_decay = file.read_double_attribute("/", "weight_decay");
  options.trust_coefficient = file.read_double_attribute("/", "trust_coef");
  options.eps = file.read_double_attribute("/", "eps");

  torch::Tensor weight = file.read_tensor("init/weight").requires_grad_(true);  // [4, 6]
  torch::Tensor bias = file.read_tensor("init/bias").requires_grad_(true);      // [4]
  const torch::Tensor x = file.read_tensor("x");                                // [5, 6]
  pic::Lars lars({{"weight", weight}, {"bias", bias}}, options);
  for (int64_t step = 0; step < steps; ++step) {
    lars.zero_grad();
    torch::nn::functional::linear(x, weight, bias).pow(2).sum().backward();  // [5, 4] -> scalar
    lars.step(lr);
  }

  pic::ParityReport report;
  report.compare("after_three_steps/weight", weight.detach(),
                 file.read_tensor("after_three_steps/weight"), pic::kUpdateTolerance);
  report.compare("after_three_steps/bias", bias.detach(),
                 file.read_tensor("after_three_steps/bias"), pic::kUpdateTolerance);
  // The update must move the weights, or comparing against the file proves nothing.
  CHECK((weight.detach() - file.read_tensor("init/weight")).abs().max().item<double>() > 1e-6);
  std::ostringstream table;
  report.print(table);
  INFO(table.str());
  CHECK(report.checks().size() == 2);
  CHECK(report.passed());
  WARN("lars.h5: worst normwise relative error " << report.worst_rel_error());
}
