// Learning-rate rules that the reference file does not cover: the batch-size scaling and the
// schedule's edge cases. The per-iteration values are checked against the original in
// tests/data/test_parity_lr_schedules.cpp.
#include <catch2/catch.hpp>

#include "core/lr_schedule.h"

TEST_CASE("learning rate scales with the global batch over 256", "[lr]") {
  // The original: lr = base_lr x batch_size x world_size / 256.
  CHECK(pic::scale_learning_rate(0.03, 64 * 4) == Approx(0.03));
  CHECK(pic::scale_learning_rate(0.03, 32 * 2) == Approx(0.0075));
  CHECK(pic::scale_learning_rate(30, 256) == Approx(30));
  CHECK(pic::scale_learning_rate(0.3, 4096) == Approx(4.8));
  CHECK_THROWS_AS(pic::scale_learning_rate(0.1, 0), std::invalid_argument);
}

TEST_CASE("warm-up ramps linearly from base/multiplier to base, then cosine to eta_min", "[lr]") {
  pic::LrScheduleConfig c;
  c.base_lr = 1.0;
  c.warmup_epochs = 1;
  c.warmup_multiplier = 10;
  c.epochs = 3;
  c.iters_per_epoch = 4;
  pic::LrSchedule s(c);
  CHECK(s.total_iterations() == 12);
  CHECK(s.at(0) == Approx(0.1));
  CHECK(s.at(2) == Approx(0.1 + 0.9 * 2 / 4));
  CHECK(s.at(4) == Approx(1.0));                      // end of the ramp = cosine start
  CHECK(s.at(8) == Approx(1e-6 + (1 - 1e-6) * 0.5));  // half way through the cosine
  CHECK(s.at(11) < s.at(10));
  CHECK(s.at(11) > 1e-6);
}

TEST_CASE("step decay counts epochs from the start, warm-up included", "[lr]") {
  pic::LrScheduleConfig c;
  c.base_lr = 2.0;
  c.scheduler = "step";
  c.warmup_epochs = 0;
  c.epochs = 10;
  c.iters_per_epoch = 3;
  c.lr_decay_epochs = {4, 8};
  c.lr_decay_rate = 0.5;
  pic::LrSchedule s(c);
  CHECK(s.at(0) == 2.0);
  CHECK(s.at(11) == 2.0);
  CHECK(s.at(12) == 1.0);
  CHECK(s.at(24) == 0.5);
  c.scheduler = "linear";
  CHECK_THROWS_WITH(pic::LrSchedule(c), Catch::Contains("cosine"));
}
