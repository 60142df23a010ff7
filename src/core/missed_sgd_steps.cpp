#include "core/missed_sgd_steps.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace pic {

StateMap2 compose(const StateMap2& later, const StateMap2& earlier) {
  StateMap2 r;
  r.mm = later.mm * earlier.mm + later.mw * earlier.wm;
  r.mw = later.mm * earlier.mw + later.mw * earlier.ww;
  r.wm = later.wm * earlier.mm + later.ww * earlier.wm;
  r.ww = later.wm * earlier.mw + later.ww * earlier.ww;
  return r;
}

MissedSgdSteps::MissedSgdSteps(const std::vector<double>& lr_at_step, double momentum,
                               double weight_decay)
    : num_steps_(static_cast<int64_t>(lr_at_step.size())) {
  if (!(momentum >= 0) || !(weight_decay >= 0) || !std::isfinite(momentum) ||
      !std::isfinite(weight_decay)) {
    throw std::invalid_argument("MissedSgdSteps: momentum (" + std::to_string(momentum) +
                                ") and weight_decay (" + std::to_string(weight_decay) +
                                ") must be finite and >= 0");
  }

  // Leaves: one zero-gradient step each, buf' = m buf + wd w, then w' = w - lr buf'.
  const int64_t T = num_steps_;
  tree_.resize(static_cast<size_t>(2 * T));
  for (int64_t s = 0; s < T; ++s) {
    const double lr = lr_at_step[static_cast<size_t>(s)];
    if (!std::isfinite(lr)) {
      throw std::invalid_argument("MissedSgdSteps: learning rate of step " + std::to_string(s) +
                                  " is not finite");
    }
    StateMap2& leaf = tree_[static_cast<size_t>(T + s)];
    leaf.mm = momentum;
    leaf.mw = weight_decay;
    leaf.wm = -lr * momentum;
    leaf.ww = 1.0 - lr * weight_decay;
  }

  // Inner nodes, children first: the right child holds the later steps.
  for (int64_t i = T - 1; i >= 1; --i) {
    tree_[static_cast<size_t>(i)] =
        compose(tree_[static_cast<size_t>(2 * i + 1)], tree_[static_cast<size_t>(2 * i)]);
  }
}

StateMap2 MissedSgdSteps::between(int64_t from, int64_t to) const {
  if (from < 0 || from > to || to > num_steps_) {
    throw std::out_of_range(
        "MissedSgdSteps::between: need 0 <= from <= to <= " + std::to_string(num_steps_) +
        ", got from = " + std::to_string(from) + ", to = " + std::to_string(to));
  }

  // Climb from both ends: nodes taken on the left come after everything taken there before,
  // nodes taken on the right come before everything taken there before.
  StateMap2 earlier_part, later_part;
  for (int64_t l = from + num_steps_, r = to + num_steps_; l < r; l >>= 1, r >>= 1) {
    if (l & 1) earlier_part = compose(tree_[static_cast<size_t>(l++)], earlier_part);
    if (r & 1) later_part = compose(later_part, tree_[static_cast<size_t>(--r)]);
  }
  return compose(later_part, earlier_part);
}

}  // namespace pic
