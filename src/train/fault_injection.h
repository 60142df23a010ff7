#pragma once
// Test aid: makes chosen steps go bad on one rank, so that the non-finite-step handling
// (nonfinite_steps.h) can be tested on real runs. Set in the environment:
//   PIC_TEST_NONFINITE_AT=RANK:STEP[,STEP...][;RANK:STEP...]   (STEP as logged: 1-based)
// The first time each listed step runs on RANK, its batch is filled with NaN before the
// forward pass (a reloaded run that repeats the step gets clean data). Unset: no effect.
// Malformed: std::invalid_argument, on every rank.
#include <cstdint>
#include <set>

#include "core/method.h"

namespace pic {

class FaultInjection {
 public:
  // Reads PIC_TEST_NONFINITE_AT; throws std::invalid_argument on a malformed value.
  static FaultInjection from_environment(int rank);

  // Poisons `batch` if `step` (0-based) is due on this rank; returns whether it did.
  bool poison(int64_t step, CropBatch& batch);
  bool active() const { return !pending_.empty(); }

 private:
  std::set<int64_t> pending_;  // 0-based steps not poisoned yet
};

}  // namespace pic
