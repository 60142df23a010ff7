#pragma once
// The learning-rate schedule flags that pic-pretrain and pic-linear share (the original's
// --lr-scheduler, --warmup-epoch, --warmup-multiplier, --lr-decay-epochs, --lr-decay-rate),
// declared, checked and written to JSON once. Both programs' options structs derive from
// LrScheduleOptions, so the fields keep their names (o.warmup_epoch, ...).
#include <cstdint>
#include <string>
#include <vector>

#include "train/json_object.h"
#include "train/option_checks.h"

namespace CLI {
class App;
}

namespace pic {

struct LrScheduleOptions {
  std::string lr_scheduler = "cosine";  // cosine | step
  double warmup_epoch = 5;
  double warmup_multiplier = 100;
  std::vector<int64_t> lr_decay_epochs{120, 160, 200};
  double lr_decay_rate = 0.1;
};

// Adds the five flags, in this order, with their defaults taken from `o`.
void add_lr_schedule_options(CLI::App& app, LrScheduleOptions& o);

// Warm-up epochs >= 0, multiplier >= 1, decay epochs non-negative and non-decreasing.
void validate_lr_schedule_options(const LrScheduleOptions& o, const OptionChecks& check);

// SGD's momentum in [0, 1) and weight decay >= 0 (both programs; their defaults differ).
void validate_sgd_options(double momentum, double weight_decay, const OptionChecks& check);

// Adds the five fields under the flags' snake_case names, in add_lr_schedule_options' order.
void add_lr_schedule_json(JsonObject& json, const LrScheduleOptions& o);

}  // namespace pic
