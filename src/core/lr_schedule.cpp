#include "core/lr_schedule.h"

#include <cmath>
#include <stdexcept>
#include <utility>

namespace pic {
namespace {

constexpr double kPi = 3.14159265358979323846;

void validate(const LrScheduleConfig& c) {
  if (c.scheduler != "cosine" && c.scheduler != "step") {
    throw std::invalid_argument("lr schedule: unknown scheduler '" + c.scheduler +
                                "' (expected 'cosine' or 'step')");
  }
  if (c.iters_per_epoch <= 0 || c.epochs <= 0) {
    throw std::invalid_argument("lr schedule: epochs (" + std::to_string(c.epochs) +
                                ") and iters_per_epoch (" + std::to_string(c.iters_per_epoch) +
                                ") must be positive");
  }
  if (c.warmup_epochs < 0 || c.warmup_epochs > static_cast<double>(c.epochs)) {
    throw std::invalid_argument("lr schedule: warmup_epochs " + std::to_string(c.warmup_epochs) +
                                " must lie in [0, epochs = " + std::to_string(c.epochs) + "]");
  }
  if (c.warmup_epochs > 0 && c.warmup_multiplier < 1) {
    throw std::invalid_argument("lr schedule: warmup_multiplier " +
                                std::to_string(c.warmup_multiplier) + " must be >= 1");
  }
}

}  // namespace

LrSchedule::LrSchedule(LrScheduleConfig config) : config_(std::move(config)) { validate(config_); }

// The original chains a linear warm-up of W iterations in front of a per-iteration cosine
// (T_max = total - W) or multi-step schedule whose milestones are (m - warmup) epochs after
// the warm-up, i.e. iteration m x iters_per_epoch counted from the start. At iteration W the
// ramp has reached base_lr, which is also the after-schedule's first value.
double LrSchedule::at(int64_t iteration) const {
  const LrScheduleConfig& c = config_;
  const auto warmup_iters = static_cast<int64_t>(std::llround(c.warmup_epochs * c.iters_per_epoch));
  if (iteration < warmup_iters) {
    double start = c.base_lr / c.warmup_multiplier;
    return start + (c.base_lr - start) * static_cast<double>(iteration) / warmup_iters;
  }
  if (c.scheduler == "cosine") {
    const int64_t span = total_iterations() - warmup_iters;  // the cosine's T_max
    if (span <= 0) return c.base_lr;
    double t = static_cast<double>(iteration - warmup_iters);
    return c.eta_min + (c.base_lr - c.eta_min) * (1.0 + std::cos(kPi * t / span)) / 2.0;
  }
  // Step decay: one factor per milestone already passed (a milestone inside the warm-up
  // takes effect right after it).
  double lr = c.base_lr;
  for (int64_t epoch : c.lr_decay_epochs) {
    if (iteration >= epoch * c.iters_per_epoch) lr *= c.lr_decay_rate;
  }
  return lr;
}

double scale_learning_rate(double base_lr, int64_t global_batch) {
  if (global_batch <= 0) {
    throw std::invalid_argument("scale_learning_rate: global batch must be positive, got " +
                                std::to_string(global_batch));
  }
  return base_lr * static_cast<double>(global_batch) / 256.0;
}

}  // namespace pic
