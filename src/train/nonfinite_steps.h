#pragma once
// What pic-pretrain does about steps whose loss or gradients are not finite (NaN or inf:
// the original's known failure in long runs, usually one bad batch or an lr too high).
//
// Every rank learns of a bad step in the same step: the averaged gradients are the same on
// every rank (a NaN anywhere reaches all of them through the all-reduce), and the finite flag
// is agreed with one all-reduce. A bad step is skipped: no optimizer step, no method update
// (classifier rows, memory bank, key encoder), the encoder's BatchNorm statistics put back as
// they were before it. After `skip_limit` bad steps in a row the run goes back to its last
// checkpoint with the learning rate multiplied by `lr_factor`, at most `max_reloads` times.
//
// Not undone by a skip (a reload undoes them): MoCo's queue has received the step's keys, and
// the key encoder's BatchNorm statistics have seen the batch.
#include <cstdint>
#include <string>

namespace pic {

struct NonfinitePolicy {
  int64_t skip_limit = 5;  // bad steps in a row before going back to the last checkpoint
  double lr_factor = 0.5;  // applied to the learning rate at each such reload
  int64_t max_reloads = 4; // then the run fails: the trouble is not the learning rate
};

class NonfiniteSteps {
 public:
  explicit NonfiniteSteps(NonfinitePolicy policy) : policy_(policy) {}

  // Records the outcome of a step. Returns true when this bad step completes a
  // run of skip_limit bad steps: the caller reloads and then calls reloaded().
  bool record(bool finite);
  // After the reload; throws std::runtime_error once max_reloads is exceeded.
  void reloaded();

  int64_t skipped_total() const { return skipped_total_; }
  int64_t in_a_row() const { return in_a_row_; }
  int64_t reloads() const { return reloads_; }
  const NonfinitePolicy& policy() const { return policy_; }
  // "step 12: loss or gradients not finite (nan); skipped (2 in a row, 3 in all)".
  std::string describe_skip(int64_t step, double loss) const;
  // Why the run reloads: "5 steps in a row (8..12) had non-finite loss or gradients".
  std::string describe_reload_reason(int64_t step) const;

 private:
  NonfinitePolicy policy_;
  int64_t in_a_row_ = 0;
  int64_t skipped_total_ = 0;
  int64_t reloads_ = 0;
};

}  // namespace pic
