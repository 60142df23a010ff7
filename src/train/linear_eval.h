#pragma once
// pic-linear: linear evaluation of a frozen encoder (DESIGN.md pipeline, last stage).
//
//   load the encoder (checkpoint or random init), eval mode, no gradients
//   read the rank's train and val shards
//   --protocol features: extract train + val features once (val transform), gather the train
//                        features on every rank, train fc for --epochs on them in memory
//   --protocol original: extract val features once; every epoch, augmented train crops
//                        (--aug NULL: random resized crop + flip) through the backbone
//   evaluate top-1 / top-5 / loss on every val image once (counts summed over ranks)
//   rank 0 writes OUTPUT_DIR/result.json, metrics.jsonl (one line per epoch), linear_fc.pt
//
// Unlike the original, the backbone's BatchNorm layers stay in eval mode (running statistics
// frozen); the original kept them in training mode and their statistics drifted.
#include "core/communicator.h"

namespace pic {

// The whole program; returns the exit code. Collective over `comm`.
int run_linear_eval(int argc, char** argv, Communicator& comm);

}  // namespace pic
