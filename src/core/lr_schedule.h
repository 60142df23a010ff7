#pragma once
// Learning-rate schedule of the original (ORIGINAL.md): linear warm-up from
// base_lr / warmup_multiplier, then cosine to eta_min = 1e-6 or step decay; evaluated at
// every optimizer step (iteration), as the original's per-iteration scheduler does.
// Torch-free.
#include <cstdint>
#include <string>
#include <vector>

namespace pic {

struct LrScheduleConfig {
  double base_lr = 0.03;            // already scaled: base lr x global batch / 256
  std::string scheduler = "cosine";  // "cosine" or "step"
  double warmup_epochs = 5;
  double warmup_multiplier = 100;
  int64_t epochs = 100;              // total, warm-up included
  int64_t iters_per_epoch = 1;
  std::vector<int64_t> lr_decay_epochs{120, 160, 200};  // counted from the very start
  double lr_decay_rate = 0.1;
  double eta_min = 1e-6;
};

class LrSchedule {
 public:
  explicit LrSchedule(LrScheduleConfig config);
  // Learning rate of optimizer step `iteration` (0-based over the whole run).
  double at(int64_t iteration) const;
  int64_t total_iterations() const { return config_.epochs * config_.iters_per_epoch; }
  const LrScheduleConfig& config() const { return config_; }

 private:
  LrScheduleConfig config_;
};

// The original's batch-size rule: lr = base_lr x (per-rank batch x world) / 256.
double scale_learning_rate(double base_lr, int64_t global_batch);

}  // namespace pic
