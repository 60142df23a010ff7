#pragma once
// Catch-up of the SGD steps that a classifier row missed (issue 3, "lazy" weight update).
//
// PIC's classifier rows outside a step's sampled set get no gradient, yet SGD with momentum m
// and weight decay wd (PyTorch semantics, core/sgd.h) would still move them. With g = 0 one
// step s is a linear map on the column (momentum, weight):
//   buf' = m buf + wd w;   w' = w - lr_s buf'
//   [buf'; w'] = [[m, wd], [-lr_s m, 1 - lr_s wd]] [buf; w]
// A row last updated by step a-1 and touched again before step b first gets the product of
// the maps of steps a..b-1, taken with each step's own learning rate.
//
// Why a segment tree: the catch-up must cost O(log gap), not O(gap), and stay accurate over
// gaps of a million steps. A prefix product P_b with P_b P_a^-1 would be O(1), but the
// products shrink like m^gap (and like exp(-sum lr wd / (1 - m))), so inverting one loses
// every digit or overflows. The tree stores only products of contiguous ranges and combines
// at most 2 log2(gap) of them, each a product of well-conditioned 2x2 maps, in double.
//
// Memory: 2T nodes of 4 doubles, i.e. 64 bytes per step (1e6 steps = 64 MB), held once per
// process, not per row. Torch-free.
#include <cstdint>
#include <vector>

namespace pic {

// Acts on the column (momentum, weight).
struct StateMap2 {
  double mm = 1, mw = 0;  // momentum' = mm * momentum + mw * weight
  double wm = 0, ww = 1;  // weight'   = wm * momentum + ww * weight
};

// The map that applies `earlier` first, then `later` (the matrix product later * earlier).
StateMap2 compose(const StateMap2& later, const StateMap2& earlier);

class MissedSgdSteps {
 public:
  // lr_at_step[s]: the learning rate of optimizer step s, s in [0, T). Throws
  // std::invalid_argument for a negative momentum or weight decay or a non-finite rate.
  MissedSgdSteps(const std::vector<double>& lr_at_step, double momentum, double weight_decay);

  int64_t num_steps() const { return num_steps_; }

  // The combined map of the zero-gradient steps [from, to) (identity when from == to);
  // 0 <= from <= to <= T, else std::out_of_range naming the values. O(log(to - from)).
  StateMap2 between(int64_t from, int64_t to) const;

 private:
  int64_t num_steps_ = 0;
  // Bottom-up segment tree: leaf s at tree_[T + s], node i = tree_[2i + 1] after tree_[2i].
  // Nodes that straddle the wrap-around of a non-power-of-two T are never read by between().
  std::vector<StateMap2> tree_;
};

}  // namespace pic
