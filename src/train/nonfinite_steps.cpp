#include "train/nonfinite_steps.h"

#include <cstdio>
#include <stdexcept>

namespace pic {

bool NonfiniteSteps::record(bool finite) {
  if (finite) {
    in_a_row_ = 0;
    return false;
  }
  ++in_a_row_;
  ++skipped_total_;
  return in_a_row_ >= policy_.skip_limit;
}

void NonfiniteSteps::reloaded() {
  in_a_row_ = 0;
  ++reloads_;
  if (reloads_ > policy_.max_reloads) {
    throw std::runtime_error(
        "non-finite loss or gradients persist after " + std::to_string(policy_.max_reloads) +
        " reloads with a lower learning rate: the cause is not the learning rate (check the "
        "data and the options), giving up");
  }
}

std::string NonfiniteSteps::describe_skip(int64_t step, double loss) const {
  char text[200];
  std::snprintf(text, sizeof text,
                "step %lld: loss or gradients not finite (loss %g); skipped (%lld in a row, "
                "%lld in all)",
                static_cast<long long>(step) + 1, loss, static_cast<long long>(in_a_row_),
                static_cast<long long>(skipped_total_));
  return text;
}

std::string NonfiniteSteps::describe_reload_reason(int64_t step) const {
  return std::to_string(in_a_row_) + " steps in a row (" +
         std::to_string(step + 2 - in_a_row_) + ".." + std::to_string(step + 1) +
         ") had non-finite loss or gradients";
}

}  // namespace pic
