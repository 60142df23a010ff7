#pragma once
// Data-parallel gradient averaging: every rank ends the step with the same gradients.
//
// All gradients (float32) are packed into one flat buffer with a few extra scalars (the
// step's loss, ...), reduced with a single all-reduce, divided by the world size and copied
// back: one collective per step instead of one per tensor. The packing order is the
// parameter order, identical on every rank. A parameter without a gradient on this rank
// contributes zeros and receives the average like the others, so all ranks keep the same
// set of defined gradients.
#include <vector>

#include "core/communicator.h"
#include "core/sgd.h"

namespace pic {

// Averages the gradients of `parameters` and the values of `extras` over all ranks, in
// place; returns the averaged extras.
std::vector<double> average_gradients(const NamedTensors& parameters, Communicator& comm,
                                      const std::vector<double>& extras);

}  // namespace pic
