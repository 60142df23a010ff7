// LrSchedule against the original's per-iteration learning rates (lr_schedules.h5).
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <sstream>

#include "core/lr_schedule.h"
#include "data/parity_check.h"
#include "data/reference_file.h"

TEST_CASE("every schedule in lr_schedules.h5 matches the original at every iteration", "[parity]") {
  const pic::ReferenceFile file(std::string(PIC_TESTDATA_DIR) + "/lr_schedules.h5");
  const std::vector<std::string> groups = file.list("/");
  CHECK(groups == std::vector<std::string>{"cosine_nowarmup", "cosine_warmup", "step_warmup"});
  pic::ParityReport report;
  for (const std::string& group : groups) {
    pic::LrScheduleConfig c;
    c.base_lr = file.read_double_attribute(group, "base_lr");
    c.scheduler = file.read_string_attribute(group, "scheduler");
    c.warmup_epochs = file.read_double_attribute(group, "warmup_epoch");
    c.warmup_multiplier = file.read_double_attribute(group, "warmup_multiplier");
    c.epochs = file.read_int_attribute(group, "epochs");
    c.iters_per_epoch = file.read_int_attribute(group, "iters_per_epoch");
    if (c.scheduler == "step") {
      c.lr_decay_epochs = file.read_int_array_attribute(group, "lr_decay_epochs");
      c.lr_decay_rate = file.read_double_attribute(group, "lr_decay_rate");
    }
    const pic::LrSchedule schedule(c);
    const torch::Tensor reference = file.read_tensor(group + "/lr_at_iteration");
    REQUIRE(reference.numel() == schedule.total_iterations());
    torch::Tensor ours = torch::empty({schedule.total_iterations()}, torch::kDouble);
    for (int64_t i = 0; i < ours.numel(); ++i) ours[i] = schedule.at(i);
    report.compare(group, ours, reference, pic::kValueTolerance);
  }
  std::ostringstream table;
  report.print(table);
  INFO(table.str());
  CHECK(report.passed());
  WARN("lr_schedules.h5: worst normwise relative error " << report.worst_rel_error());
}
