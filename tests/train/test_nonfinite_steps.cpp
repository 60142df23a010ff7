// The bookkeeping of non-finite steps (when to go back to a checkpoint, when to give up) and
// the test aid that makes steps go bad. The trainer's handling itself is tested end to end in
// tests/mpi/pretrain_test.sh (mode nonfinite).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>

#include "train/fault_injection.h"
#include "train/nonfinite_steps.h"

TEST_CASE("NonfiniteSteps asks for a reload after skip_limit bad steps in a row", "[nonfinite]") {
  pic::NonfiniteSteps steps(pic::NonfinitePolicy{3, 0.5, 2});
  CHECK_FALSE(steps.record(false));
  CHECK_FALSE(steps.record(true));  // a good step ends the run of bad ones
  CHECK(steps.in_a_row() == 0);
  CHECK_FALSE(steps.record(false));
  CHECK_FALSE(steps.record(false));
  CHECK(steps.describe_skip(9, NAN) ==
        "step 10: loss or gradients not finite (loss nan); skipped (2 in a row, 3 in all)");
  CHECK(steps.record(false));
  CHECK(steps.describe_reload_reason(10) ==
        "3 steps in a row (9..11) had non-finite loss or gradients");
  steps.reloaded();
  CHECK(steps.in_a_row() == 0);
  CHECK(steps.skipped_total() == 4);
  for (int i = 0; i < 2; ++i) CHECK_FALSE(steps.record(false));
  CHECK(steps.record(false));
  steps.reloaded();  // the second of max_reloads = 2
  for (int i = 0; i < 2; ++i) CHECK_FALSE(steps.record(false));
  CHECK(steps.record(false));
  CHECK_THROWS_WITH(steps.reloaded(), Catch::Contains("persist after 2 reloads"));
}

TEST_CASE("PIC_TEST_NONFINITE_AT poisons the listed steps of its rank once", "[nonfinite]") {
  ::setenv("PIC_TEST_NONFINITE_AT", "1:2,4;0:3", 1);
  pic::FaultInjection rank1 = pic::FaultInjection::from_environment(1);
  pic::FaultInjection rank0 = pic::FaultInjection::from_environment(0);
  pic::FaultInjection rank2 = pic::FaultInjection::from_environment(2);
  ::unsetenv("PIC_TEST_NONFINITE_AT");
  CHECK_FALSE(rank2.active());

  pic::CropBatch batch;
  batch.groups = {torch::ones({2, 3, 4, 4}), torch::ones({2, 3, 2, 2})};
  CHECK_FALSE(rank1.poison(0, batch));
  CHECK(torch::equal(batch.groups[0], torch::ones({2, 3, 4, 4})));
  CHECK(rank1.poison(1, batch));  // step 2 as logged
  CHECK(torch::isnan(batch.groups[0]).all().item<bool>());
  CHECK(torch::isnan(batch.groups[1]).all().item<bool>());
  CHECK_FALSE(rank1.poison(1, batch));  // once: a reloaded run repeats the step cleanly
  CHECK(rank1.poison(3, batch));
  CHECK_FALSE(rank1.active());
  CHECK(rank0.poison(2, batch));

  for (const char* bad : {"5", "x:1", "1:", "1:0", "1:2,y", "-1:3", "1:2;3"}) {
    INFO(bad);
    ::setenv("PIC_TEST_NONFINITE_AT", bad, 1);
    CHECK_THROWS_WITH(pic::FaultInjection::from_environment(0),
                      Catch::Contains("expected RANK:STEP"));
  }
  ::unsetenv("PIC_TEST_NONFINITE_AT");
  CHECK_FALSE(pic::FaultInjection::from_environment(0).active());
}
