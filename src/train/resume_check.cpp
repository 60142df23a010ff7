#include "train/resume_check.h"

#include <algorithm>

#include "train/json_object.h"

namespace pic {
namespace {

constexpr const char* kRunDefiningOptions[] = {
    "train_file",
    "aug",
    "crop",
    "crop2",
    "image_size",
    "image_size2",
    "num_crop",
    "num_crop2",
    "batch_size",
    "use_sliding_window_sampler",
    "window_size",
    "window_stride",
    "shuffle_per_epoch",
    "model",
    "contrast_temperature",
    "base_learning_rate",
    "lr_scheduler",
    "warmup_epoch",
    "warmup_multiplier",
    "lr_decay_epochs",
    "lr_decay_rate",
    "weight_decay",
    "momentum",
    "epochs",
    "seed",
    "num_negative",
    "negative_sampling",
    "weight_update_correction",
    "optimizer",
    "contrast_momentum",
    "contrast_num_negative",
};

// Options newer than the first checkpoints: an older checkpoint ran as this value.
std::string value_before_option_existed(const std::string& key) {
  if (key == "num_negative") return "0";
  if (key == "contrast_momentum") return "0.999";
  if (key == "contrast_num_negative") return "65536";
  return "(absent)";
}

// MoCo's and InstDisc's own options; PIC and SimCLR ignore them.
bool only_matters_for_baselines(const std::string& key) {
  return key == "contrast_momentum" || key == "contrast_num_negative";
}

// How the softmax samples matters only when one of the two runs samples it.
bool only_matters_when_sampling(const std::string& key) {
  return key == "negative_sampling" || key == "weight_update_correction";
}

// JSON key -> the flag a user typed.
std::string flag_of(std::string key) {
  if (key == "base_learning_rate") return "--base-lr";
  std::replace(key.begin(), key.end(), '_', '-');
  return "--" + key;
}

}  // namespace

std::vector<ChangedOption> changed_run_options(const std::string& saved_config_json,
                                               const std::string& current_config_json,
                                               const std::string& checkpoint_path) {
  const FlatJson saved(saved_config_json, checkpoint_path + " (attribute config)");
  const FlatJson now(current_config_json, "this run's options");
  const bool sampling =
      saved.text_or("num_negative", "0") != "0" || now.text_or("num_negative", "0") != "0";
  const auto uses_contrast_options = [](const std::string& model) {
    return model == "MoCo" || model == "InstDisc";
  };
  const bool baseline = uses_contrast_options(saved.text_or("model", "PIC")) ||
                        uses_contrast_options(now.text_or("model", "PIC"));
  std::vector<ChangedOption> changes;
  for (const char* key : kRunDefiningOptions) {
    if (only_matters_when_sampling(key) && !sampling) continue;
    if (only_matters_for_baselines(key) && !baseline) continue;
    std::string before = saved.text_or(key, value_before_option_existed(key));
    std::string after = now.text_or(key, "(absent)");
    if (before != after) changes.push_back({key, before, after});
  }
  return changes;
}

std::string describe_changes(const std::vector<ChangedOption>& changes) {
  std::string text;
  for (const ChangedOption& c : changes) {
    if (!text.empty()) text += ", ";
    text += flag_of(c.name) + " " + c.now + " (checkpoint: " + c.saved + ")";
  }
  return text;
}

}  // namespace pic
