// A resumed run is told which run-defining options differ from its checkpoint's.
#include <catch2/catch.hpp>

#include "train/json_object.h"
#include "train/pretrain_options.h"
#include "train/resume_check.h"

namespace {

std::string options_json(const pic::PretrainOptions& o) {
  return pic::pretrain_options_json(o).dump();
}

}  // namespace

TEST_CASE("resume check: identical runs and cosmetic changes report nothing") {
  pic::PretrainOptions saved;
  pic::PretrainOptions now = saved;
  CHECK(pic::changed_run_options(options_json(saved), options_json(now), "c.h5").empty());

  now.print_freq = 7;  // logging, threads, cadence and --max-steps may change freely
  now.threads = 2;
  now.max_steps = 100;
  now.save_every_steps = 50;
  now.auto_resume = true;
  CHECK(pic::changed_run_options(options_json(saved), options_json(now), "c.h5").empty());
}

TEST_CASE("resume check: data, batch and schedule changes are named with both values") {
  pic::PretrainOptions saved;
  saved.train_file = "a/train.h5";
  pic::PretrainOptions now = saved;
  now.train_file = "b/train.h5";
  now.batch_size = 16;
  now.image_size = 32;
  now.base_lr = 0.5;
  const auto changes = pic::changed_run_options(options_json(saved), options_json(now), "c.h5");
  REQUIRE(changes.size() == 4);
  CHECK(changes[0].name == "train_file");
  CHECK(changes[0].saved == "a/train.h5");
  CHECK(changes[0].now == "b/train.h5");
  const std::string text = pic::describe_changes(changes);
  CHECK(text.find("--batch-size 16 (checkpoint: 64)") != std::string::npos);
  CHECK(text.find("--image-size 32 (checkpoint: 224)") != std::string::npos);
  CHECK(text.find("--base-lr 0.5 (checkpoint: 0.03") != std::string::npos);
}

TEST_CASE("resume check: negative sampling changes are named; older checkpoints ran without") {
  pic::PretrainOptions saved;
  pic::PretrainOptions now = saved;
  // Without sampling, the sampling details do nothing: no warning.
  now.negative_sampling = "uniform";
  now.weight_update_correction = "freeze";
  CHECK(pic::changed_run_options(options_json(saved), options_json(now), "c.h5").empty());

  saved.num_negative = 64;
  now = saved;
  now.num_negative = 32;
  now.weight_update_correction = "freeze";
  auto changes = pic::changed_run_options(options_json(saved), options_json(now), "c.h5");
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].name == "num_negative");
  CHECK(changes[0].saved == "64");
  CHECK(changes[0].now == "32");
  CHECK(changes[1].name == "weight_update_correction");
  CHECK(pic::describe_changes(changes) ==
        "--num-negative 32 (checkpoint: 64), --weight-update-correction freeze (checkpoint: lazy)");

  // A checkpoint written before these options existed trained with the full softmax.
  const std::string old_config = R"({"train_file": "a/train.h5", "seed": 0})";
  pic::PretrainOptions full;
  full.train_file = "a/train.h5";
  for (const auto& c : pic::changed_run_options(old_config, options_json(full), "old.h5")) {
    CHECK(c.name != "num_negative");
    CHECK(c.name != "negative_sampling");
  }
  full.num_negative = 128;
  changes = pic::changed_run_options(old_config, options_json(full), "old.h5");
  bool named = false;
  for (const auto& c : changes) named |= c.name == "num_negative" && c.saved == "0";
  CHECK(named);
}

TEST_CASE("resume check: the contrast options are named only when MoCo or InstDisc trains") {
  pic::PretrainOptions saved;
  pic::PretrainOptions now = saved;
  now.contrast_momentum = 0.99;  // PIC ignores it: no warning
  now.optimizer = "lars";
  auto changes = pic::changed_run_options(options_json(saved), options_json(now), "c.h5");
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].name == "optimizer");

  saved.model = "MoCo";
  now = saved;
  now.contrast_momentum = 0.99;
  now.contrast_num_negative = 4096;
  changes = pic::changed_run_options(options_json(saved), options_json(now), "c.h5");
  REQUIRE(changes.size() == 2);
  CHECK(pic::describe_changes(changes) ==
        "--contrast-momentum 0.99 (checkpoint: 0.999), "
        "--contrast-num-negative 4096 (checkpoint: 65536)");

  saved.model = "SimCLR";  // ignores both
  now = saved;
  now.contrast_momentum = 0.5;
  CHECK(pic::changed_run_options(options_json(saved), options_json(now), "c.h5").empty());
}
