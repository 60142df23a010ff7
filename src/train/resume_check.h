#pragma once
// What a resumed run changed. A checkpoint stores the resolved options of the run that wrote
// it; resuming with other data, batch, augmentation or schedule options continues from the
// same step but is no longer the same run (its losses will not match an uninterrupted one),
// which a user should be told rather than discover in the curves.
#include <string>
#include <vector>

namespace pic {

struct ChangedOption {
  std::string name;   // JSON key of pretrain_options_json, e.g. "batch_size"
  std::string saved;  // value in the checkpoint ("(absent)" if it has none)
  std::string now;    // value of this run
};

// Options that define the run, compared between the checkpoint's and this run's JSON.
// Logging, checkpoint cadence, thread counts and --max-steps may change freely.
std::vector<ChangedOption> changed_run_options(const std::string& saved_config_json,
                                               const std::string& current_config_json,
                                               const std::string& checkpoint_path);

// "--batch-size 8 (checkpoint: 16), --image-size 32 (checkpoint: 28)"
std::string describe_changes(const std::vector<ChangedOption>& changes);

}  // namespace pic
