#pragma once
// The objectives of the three baselines (MoCo, SimCLR, InstDisc) on already-computed features,
// in single-process form, with gradients by autograd. They are checked against the original's
// reference vectors (tests/testdata/heads.h5, groups `moco`, `simclr`, `instdisc`); the
// methods that train them (encoders, key encoder, multi-rank gathering) build on these.
// Every function L2-normalises the raw features itself, so gradients reach the raw inputs.
#include <torch/torch.h>

#include <cstdint>

#include "core/method.h"

namespace pic {

// x / max(|x|_2, 1e-12) along `dim` (rows by default), differentiable: every method's
// features, keys, classifier rows and bank rows are compared as unit vectors.
torch::Tensor l2_normalize(const torch::Tensor& x, int64_t dim = 1);

// ---- MoCo (He et al., 2020) ----

// query [B, D] (trained), key [B, D] (used detached), queue [D, K] of unit-length negative keys
// (used detached). q and k are normalised; logits [B, 1 + K] = [q.k | q.queue] / temperature;
// the label of every row is 0 (its own key); loss = mean cross-entropy.
MethodOutput moco_loss(const torch::Tensor& query, const torch::Tensor& key,
                       const torch::Tensor& queue, double temperature);

// Writes keys [B, D] (already normalised by the caller) into columns pointer .. pointer+B-1
// of queue [D, K] in place (indices taken modulo K), without gradient, and returns the next
// pointer (pointer + B) mod K. 1 <= B <= K. The original asserts that K is a multiple of B;
// wrapping inside a batch lifts that, so that a run can resume with another global batch.
int64_t enqueue_keys(const torch::Tensor& queue, const torch::Tensor& keys, int64_t pointer);

// ---- SimCLR (Chen et al., 2020), NT-Xent ----

// Value subtracted from a row's similarity with itself (after dividing by the temperature),
// as the original does; those logits end up about -1e9.
constexpr double kSimclrSelfMask = 1e9;

// The rows of one rank against the columns of the whole (gathered) batch.
// local_f1, local_f2 [b, D]: this rank's two views; all_f1, all_f2 [N, D]: the views of all
// ranks, in which this rank's rows are rows row_offset .. row_offset+b-1. Everything is
// normalised; logits [2b, 2N] = [l1.a2^T | l1.a1^T - mask] stacked over
// [l2.a1^T | l2.a2^T - mask], divided by the temperature, with kSimclrSelfMask subtracted
// afterwards at each row's own column (row_offset + i); labels [2b] = row_offset + (0..b-1),
// twice; loss = mean cross-entropy over the 2b rows. The gathered columns are used detached,
// as in the original (its all_gather passes no gradient): gradients reach local_f1 and
// local_f2 only, also when one rank passes the same tensors as local and all (row_offset 0).
// The whole batch's loss and gradients are the per-block ones weighted by b / N.
MethodOutput simclr_loss(const torch::Tensor& local_f1, const torch::Tensor& local_f2,
                         const torch::Tensor& all_f1, const torch::Tensor& all_f2,
                         int64_t row_offset, double temperature);

// ---- InstDisc (Wu et al., 2018), memory bank with sampled negatives ----

// features [B, D] (raw, trained), memory_bank [N, D] (used detached), instance_ids [B] int64,
// sample_idx [B, 1 + K] int64 bank rows whose column 0 must equal instance_ids (the positive;
// the rest are the drawn negatives). logits [B, 1 + K] = normalise(x) . bank[sample_idx] /
// temperature, label 0 for every row; loss = mean cross-entropy. Gradient only into features.
MethodOutput instdisc_loss(const torch::Tensor& features, const torch::Tensor& memory_bank,
                           const torch::Tensor& instance_ids, const torch::Tensor& sample_idx,
                           double temperature);

// Momentum update of the positive rows of memory_bank [N, D] in place, without gradient:
// row = normalise(momentum * row + (1 - momentum) * normalise(x)). With repeated ids in one
// batch the row is written once from one of them (which one is unspecified).
void update_memory_bank(const torch::Tensor& memory_bank, const torch::Tensor& features,
                        const torch::Tensor& instance_ids, double momentum);

}  // namespace pic
