#pragma once
// InstDisc's loss with the memory bank sharded by rank like PIC's classifier (DESIGN.md
// decision 2): rank r holds bank rows [row_begin, row_begin + n_r) only, never all N x D.
//
// Every sample i of the global batch has its own columns sample_idx[i] = [positive,
// K negatives] (bank rows anywhere in [0, N)). Each rank computes the logits of the pairs
// (i, j) whose row it owns, and the softmax is completed the way instance_softmax.h does it:
// one max all-reduce and one sum all-reduce of 2 values per sample, then the features'
// gradient (a sum over each sample's columns) is reduce-scattered back to the rank that
// owns the sample. Work and memory per rank are O(B_global x K / W + n_r x D); traffic is the
// batch's features twice and 3 floats per sample. The bank itself gets no gradient: it moves
// by the momentum update after the step (update_memory_bank in contrastive_losses.h).
#include <torch/torch.h>

#include <cstdint>

#include "core/communicator.h"

namespace pic {

struct MemoryBankSoftmaxInput {
  torch::Tensor features;    // [b, D] this rank's samples, L2-normalised (no grad needed);
                             // float32, or float64 with a float64 bank
  torch::Tensor sample_idx;  // [B_global, 1 + K] int64 bank rows, the same on every rank,
                             // samples in rank order; column 0 is the label
  torch::Tensor bank;        // [n_r, D] this rank's bank rows
  int64_t row_begin = 0;     // global index of bank row 0
  double temperature = 0.07;
  int64_t chunk_pairs = 1 << 18;  // (sample, column) pairs per block of dot products
};

struct MemoryBankSoftmaxResult {
  double loss = 0;              // mean cross-entropy over the global batch (every rank)
  torch::Tensor grad_features;  // [b, D] d loss / d features for this rank's samples
};

// Collective.
MemoryBankSoftmaxResult memory_bank_softmax(const MemoryBankSoftmaxInput& input,
                                            Communicator& comm);

// The columns of every sample of the global batch at step `step`: column 0 = global_ids[i],
// columns 1..K uniform over [0, num_instances) with replacement (the original's
// torch.randint), drawn from a counter stream keyed by (seed, step, i), so every rank
// draws the same matrix without communicating and a resumed run redraws it.
torch::Tensor draw_memory_bank_columns(const torch::Tensor& global_ids, int64_t num_instances,
                                       int64_t num_negative, uint64_t seed, int64_t step);

}  // namespace pic
