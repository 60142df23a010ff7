// Where a resumed run continues: the checkpoint's step on the same rank count, the step of
// this run's plan at the same number of images seen on another one.
#include <catch2/catch.hpp>

#include "train/resume_position.h"

namespace {

// pretrain_test.sh's configuration: 300 images, window 48 / stride 6, batch 8, --epochs 1.
pic::TrainingPlan plan_for(int world) {
  pic::PretrainOptions o;
  o.batch_size = 8;
  o.epochs = 1;
  o.warmup_epoch = 0;
  o.use_sliding_window_sampler = true;
  o.window_size = 48;
  o.window_stride = 6;
  return pic::plan_training(o, 300, 300 / world, world);
}

}  // namespace

TEST_CASE("the same rank count continues at the checkpoint's step") {
  const auto plan = plan_for(2);
  const auto position = pic::resume_position({5, 80, 2}, plan, 8, 2);
  CHECK(position.step == 5);
  CHECK(position.images_seen == 80);
  CHECK_FALSE(position.remapped);
  CHECK(position.description.empty());
}

TEST_CASE("another rank count continues at the nearest step with as many images seen") {
  const auto plan2 = plan_for(2), plan3 = plan_for(3);
  // Both plans: a global window of 48 images, ceil(300 / 48) = 7 window epochs; steps of 16
  // images on 2 ranks (3 per window), of 24 on 3 ranks (2 per window).
  REQUIRE(plan2.total_steps == 21);
  REQUIRE(plan3.total_steps == 14);

  // 2 -> 3: 4 steps x 16 = 64 images = 2.67 steps of 24 -> step 3 (72 images), window 2.
  auto position = pic::resume_position({4, 64, 2}, plan3, 8, 3);
  CHECK(position.remapped);
  CHECK(position.step == 3);
  CHECK(position.images_seen == 64);
  CHECK_THAT(position.description,
             Catch::Contains("64 images seen (step 4 on 2 ranks) = step 3 of 14 on 3 ranks"));
  CHECK(position.step / plan3.iters_per_epoch == 4 / plan2.iters_per_epoch);

  // 3 -> 2: 4 steps x 24 = 96 images = exactly step 6 of 16, the same window (3).
  position = pic::resume_position({4, 96, 3}, plan2, 8, 2);
  CHECK(position.step == 6);
  CHECK(position.step / plan2.iters_per_epoch == 4 / plan3.iters_per_epoch);

  // The end of one plan is the end of the other.
  CHECK(pic::resume_position({21, 336, 2}, plan3, 8, 3).step == 14);
  CHECK(pic::resume_position({14, 336, 3}, plan2, 8, 2).step == 21);
  // Never past this plan's end (here: a run that had gone further with a larger batch).
  CHECK(pic::resume_position({21, 10000, 2}, plan3, 8, 3).step == 14);
}

TEST_CASE("a checkpoint without images_seen counts the steps at this batch size") {
  const auto position = pic::resume_position({4, -1, 2}, plan_for(3), 8, 3);
  CHECK(position.images_seen == 64);
  CHECK(position.step == 3);
  CHECK_THAT(position.description, Catch::Contains("not stored, assumed step 4 on 2 ranks"));
}

TEST_CASE("resume_position refuses impossible inputs") {
  CHECK_THROWS_AS(pic::resume_position({-1, 0, 2}, plan_for(2), 8, 2), std::invalid_argument);
  CHECK_THROWS_AS(pic::resume_position({1, 0, 0}, plan_for(2), 8, 2), std::invalid_argument);
}
