#pragma once
// PIC's softmax over instances when every rank holds only some of the classifier rows
// (DESIGN.md decision 2). Nothing of size N x D crosses the network:
//
//   1. the batch's features of all ranks are all-gathered ([R, D], R = crops in the global
//      batch), with their labels (instance ids);
//   2. each rank computes cosine logits of those R rows against ITS classifier rows only,
//      in chunks of rows so that no [R, N] matrix is ever held;
//   3. the softmax normaliser is combined across ranks from each rank's (max, sum of exp):
//      one max all-reduce and one sum all-reduce of R values (the sum also carries the
//      positive logit, which only the rank owning the label's row can compute);
//   4. the gradient of the logits, softmax - one-hot, gives each rank the complete
//      gradient of its own rows and a partial gradient of every feature; the feature
//      gradients are reduce-scattered back to the ranks that own the features.
//
// The loss is the mean cross-entropy over all R rows of the global batch — the same number
// the original's per-rank mean, averaged by DistributedDataParallel, gives for equal
// per-rank batches. With every row of the classifier active on some rank this equals the
// dense computation (pic_loss) to rounding; with negative sampling the softmax runs over
// the active rows of all ranks, which always contain the batch's own rows (positives).
//
// Gradients are written by hand rather than by autograd: the chunked two-pass form needs
// the global normaliser between the passes, and the manual form keeps peak memory at one
// [R, chunk] block.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "core/communicator.h"

namespace pic {

struct InstanceSoftmaxInput {
  // Raw (unnormalised) features of this rank's crops, one tensor per crop group, rows
  // crop-major within a group ([crops_g * B, D]). Group 0 trains the classifier rows;
  // groups >= 1 see them without passing gradient to them (the original's small crops).
  std::vector<torch::Tensor> group_features;
  torch::Tensor instance_ids;  // [B] int64 global ids of this rank's images (the labels)
  torch::Tensor rows;          // [k, D] raw classifier rows this rank contributes
  torch::Tensor row_ids;       // [k] int64 global ids of `rows`, strictly increasing
  double temperature = 0.2;
  int64_t chunk_rows = 65536;  // classifier rows per logits block
};

struct InstanceSoftmaxResult {
  double loss = 0;  // mean cross-entropy over the crops of all ranks (same on every rank)
  // d loss / d group_features[g] for this rank's own features (gradient of the global mean).
  std::vector<torch::Tensor> grad_group_features;
  torch::Tensor grad_rows;   // [k, D] d loss / d rows: complete, no reduction needed
  int64_t global_crops = 0;  // R
};

// Collective over `comm`: every rank calls it with the same crop-group structure. Throws
// std::invalid_argument (same decision on every rank where the cause is local shapes) when
// a label is not among the active rows of any rank.
InstanceSoftmaxResult instance_softmax_cross_entropy(const InstanceSoftmaxInput& input,
                                                     Communicator& comm);

}  // namespace pic
