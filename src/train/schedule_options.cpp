#include "train/schedule_options.h"

#include <CLI/CLI.hpp>

namespace pic {

void add_lr_schedule_options(CLI::App& app, LrScheduleOptions& o) {
  app.add_option("--lr-scheduler", o.lr_scheduler, "cosine (to 1e-6) or step")
      ->check(CLI::IsMember({"cosine", "step"}));
  app.add_option("--warmup-epoch", o.warmup_epoch, "Linear warm-up epochs");
  app.add_option("--warmup-multiplier", o.warmup_multiplier,
                 "Warm-up starts at lr / warmup-multiplier");
  app.add_option("--lr-decay-epochs", o.lr_decay_epochs, "Step schedule: decay at these epochs")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->expected(1, -1);
  app.add_option("--lr-decay-rate", o.lr_decay_rate, "Step schedule: factor per decay");
}

void validate_lr_schedule_options(const LrScheduleOptions& o, const OptionChecks& check) {
  check.at_least("--warmup-epoch", o.warmup_epoch, 0.0);
  if (!(o.warmup_multiplier >= 1)) check.invalid("--warmup-multiplier", "must be at least 1");
  for (size_t i = 0; i < o.lr_decay_epochs.size(); ++i) {
    if (o.lr_decay_epochs[i] < 0 || (i > 0 && o.lr_decay_epochs[i] < o.lr_decay_epochs[i - 1])) {
      check.invalid("--lr-decay-epochs", "must be non-negative and non-decreasing");
    }
  }
}

void validate_sgd_options(double momentum, double weight_decay, const OptionChecks& check) {
  if (!(momentum >= 0 && momentum < 1)) check.invalid("--momentum", "must be in [0, 1)");
  check.at_least("--weight-decay", weight_decay, 0.0);
}

void add_lr_schedule_json(JsonObject& json, const LrScheduleOptions& o) {
  json.add("lr_scheduler", o.lr_scheduler)
      .add("warmup_epoch", o.warmup_epoch)
      .add("warmup_multiplier", o.warmup_multiplier)
      .add("lr_decay_epochs", o.lr_decay_epochs)
      .add("lr_decay_rate", o.lr_decay_rate);
}

}  // namespace pic
