// Steps, epochs and samplers of a pre-training run from the options and the shard sizes.
#include <catch2/catch.hpp>

#include "train/training_plan.h"

namespace {

pic::PretrainOptions small_options() {
  pic::PretrainOptions o;
  o.batch_size = 8;
  o.epochs = 10;
  o.warmup_epoch = 2;
  return o;
}

}  // namespace

TEST_CASE("epoch sampler plan: steps from the smallest shard") {
  auto o = small_options();
  // 1001 images on 3 ranks: shards 334, 334, 333; 333 / 8 = 41 steps per epoch.
  const auto plan = pic::plan_training(o, 1001, 333, 3);
  CHECK(plan.iters_per_epoch == 41);
  CHECK(plan.epochs == 10);
  CHECK(plan.warmup_epochs == 2);
  CHECK(plan.total_steps == 410);
  CHECK(plan.first_step == 0);
  CHECK(plan.end_step == 410);
  CHECK(plan.warnings.empty());

  o.max_steps = 50;
  o.start_epoch = 3;
  const auto short_plan = pic::plan_training(o, 1001, 333, 3);
  CHECK(short_plan.total_steps == 410);  // the schedule still spans every epoch
  CHECK(short_plan.end_step == 50);
  CHECK(short_plan.first_step == 82);

  auto sampler = pic::make_sampler(o, plan, 334, 333, 0);
  CHECK(sampler->steps_per_epoch() == 41);
  CHECK(sampler->indices_for_step(0).size() == 8);
}

TEST_CASE("sliding-window plan converts epochs as the original does") {
  auto o = small_options();
  o.use_sliding_window_sampler = true;
  o.window_size = 200;
  o.window_stride = 50;
  o.lr_decay_epochs = {4, 8};
  // 1000 images on 2 ranks: w = 100, s = 25 per rank; window epochs = ceil(10 * 1000 / 200).
  const auto plan = pic::plan_training(o, 1000, 500, 2);
  CHECK(plan.window == 100);
  CHECK(plan.stride == 25);
  CHECK(plan.iters_per_epoch == 12);  // floor(100 / 8)
  CHECK(plan.epochs == 50);
  CHECK(plan.warmup_epochs == 10);
  CHECK(plan.lr_decay_epochs == std::vector<int64_t>{20, 40});
  CHECK(plan.total_steps == 600);
  CHECK(plan.warnings.empty());

  // Not divisible: 3 ranks get w = 66, so the effective global window is 198.
  const auto plan3 = pic::plan_training(o, 1000, 333, 3);
  CHECK(plan3.window == 66);
  CHECK(plan3.stride == 16);
  CHECK(plan3.epochs == 51);  // ceil(10000 / 198) = ceil(50.505...)
  CHECK(plan3.iters_per_epoch == 8);

  auto sampler = pic::make_sampler(o, plan, 500, 500, 1);
  CHECK(sampler->steps_per_epoch() == 12);
}

TEST_CASE("sliding-window plan clamps a window larger than the shard, with a warning") {
  auto o = small_options();
  o.use_sliding_window_sampler = true;  // the defaults 131072 / 16384
  const auto plan = pic::plan_training(o, 300, 150, 2);
  CHECK(plan.window == 150);
  CHECK(plan.stride == 150);  // 8192 per rank, clamped to the window
  REQUIRE(plan.warnings.size() == 1);
  CHECK_THAT(plan.warnings[0], Catch::Contains("clamped"));
  CHECK(plan.iters_per_epoch == 18);
  CHECK(plan.epochs == 10);  // the window is the whole data set: one window epoch per epoch
  CHECK(plan.warmup_epochs == 2);
}

TEST_CASE("a shard smaller than one batch is an error") {
  auto o = small_options();
  o.batch_size = 64;
  CHECK_THROWS_WITH(pic::plan_training(o, 100, 50, 2), Catch::Contains("fewer than one batch"));
}

TEST_CASE("a warm-up longer than the run names both flags in the user's units") {
  auto o = small_options();
  o.use_sliding_window_sampler = true;
  o.window_size = 256;
  o.window_stride = 32;
  o.epochs = 2;
  o.warmup_epoch = 5;
  try {
    pic::plan_training(o, 1000, 500, 2);
    FAIL("expected an error");
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    CHECK(message.find("--warmup-epoch 5") != std::string::npos);
    CHECK(message.find("--epochs 2") != std::string::npos);
  }
}
