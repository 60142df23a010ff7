#include "core/memory_bank_softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/counter_rng.h"

namespace pic {
namespace {

constexpr uint64_t kColumnStream = 0x4d454d42414e4bULL;  // "MEMBANK"

void check_input(const MemoryBankSoftmaxInput& in, int64_t global_batch) {
  if (in.features.dim() != 2 || in.bank.dim() != 2 || in.features.size(1) != in.bank.size(1)) {
    throw std::invalid_argument("memory_bank_softmax: features [b, D] and bank [n_r, D] needed");
  }
  const auto dtype = in.features.scalar_type();
  if ((dtype != torch::kFloat && dtype != torch::kDouble) || in.bank.scalar_type() != dtype) {
    throw std::invalid_argument(
        "memory_bank_softmax: features and bank must both be float32 (or both float64)");
  }
  if (in.sample_idx.dim() != 2 || in.sample_idx.size(0) != global_batch ||
      in.sample_idx.scalar_type() != torch::kLong) {
    throw std::invalid_argument("memory_bank_softmax: sample_idx must be int64 [" +
                                std::to_string(global_batch) + ", 1 + K]");
  }
  if (!(in.temperature > 0) || in.chunk_pairs < 1) {
    throw std::invalid_argument("memory_bank_softmax: temperature and chunk_pairs must be > 0");
  }
}

// max over each sample's pairs (-inf for a sample with none here). A plain loop: the pairs are
// few per sample and torch's scatter "amax" is still marked beta in LibTorch 1.13.
template <typename T>
void per_sample_max_into(const torch::Tensor& logits, const torch::Tensor& sample,
                         torch::Tensor& max) {
  T* out = max.data_ptr<T>();
  const T* logit = logits.data_ptr<T>();
  const int64_t* of = sample.data_ptr<int64_t>();
  for (int64_t p = 0; p < logits.numel(); ++p) out[of[p]] = std::max(out[of[p]], logit[p]);
}

torch::Tensor per_sample_max(const torch::Tensor& logits, const torch::Tensor& sample,
                             int64_t global_batch) {
  torch::Tensor max =
      torch::full({global_batch}, -std::numeric_limits<double>::infinity(), logits.options());
  if (logits.scalar_type() == torch::kDouble) {
    per_sample_max_into<double>(logits, sample, max);
  } else {
    per_sample_max_into<float>(logits, sample, max);
  }
  return max;
}

}  // namespace

MemoryBankSoftmaxResult memory_bank_softmax(const MemoryBankSoftmaxInput& in, Communicator& comm) {
  torch::NoGradGuard no_grad;
  const std::vector<int64_t> counts = comm.all_gather(in.features.size(0));
  const torch::Tensor features = comm.all_gather_rows(in.features.detach().contiguous());
  const int64_t global_batch = features.size(0);
  check_input(in, global_batch);
  const int64_t columns = in.sample_idx.size(1);
  const int64_t bank_rows = in.bank.size(0);

  // The (sample, column) pairs whose bank row lives here.
  const torch::Tensor owned =
      (in.sample_idx >= in.row_begin) & (in.sample_idx < in.row_begin + bank_rows);
  const torch::Tensor flat = owned.view(-1).nonzero().view(-1);
  const torch::Tensor sample = flat.div(columns, "floor").contiguous();
  const torch::Tensor is_label = flat.remainder(columns) == 0;
  const torch::Tensor row = in.sample_idx.view(-1).index_select(0, flat) - in.row_begin;
  const int64_t pairs = flat.numel();

  torch::Tensor logits = torch::empty({pairs}, features.options());
  for (int64_t begin = 0; begin < pairs; begin += in.chunk_pairs) {
    const int64_t end = std::min(pairs, begin + in.chunk_pairs);
    const torch::Tensor rows = in.bank.index_select(0, row.slice(0, begin, end));
    const torch::Tensor feats = features.index_select(0, sample.slice(0, begin, end));
    logits.slice(0, begin, end).copy_((rows * feats).sum(1) / in.temperature);
  }

  // Softmax over each sample's columns, spread over the ranks.
  torch::Tensor max = per_sample_max(logits, sample, global_batch);
  comm.all_reduce_max(max);
  const torch::Tensor exp = (logits - max.index_select(0, sample)).exp();
  torch::Tensor sums = torch::zeros({2, global_batch}, features.options());
  sums[0].index_add_(0, sample, exp);
  sums[1].index_add_(0, sample.masked_select(is_label), logits.masked_select(is_label));
  comm.all_reduce_sum(sums);
  const torch::Tensor sum_exp = sums[0];
  const torch::Tensor label_logit = sums[1];
  MemoryBankSoftmaxResult result;
  result.loss = (sum_exp.log() + max - label_logit).mean().item<double>();

  // d loss / d feature_i = sum_j (p_ij - [j is the label]) bank_row_ij / (T * B_global).
  torch::Tensor weight = exp / sum_exp.index_select(0, sample);
  weight.sub_(is_label.to(weight.dtype()));
  weight.div_(in.temperature * static_cast<double>(global_batch));
  torch::Tensor grad = torch::zeros_like(features);
  for (int64_t begin = 0; begin < pairs; begin += in.chunk_pairs) {
    const int64_t end = std::min(pairs, begin + in.chunk_pairs);
    const torch::Tensor rows = in.bank.index_select(0, row.slice(0, begin, end));
    grad.index_add_(0, sample.slice(0, begin, end),
                    rows * weight.slice(0, begin, end).unsqueeze(1));
  }
  result.grad_features = comm.reduce_scatter_rows(grad, counts);
  return result;
}

torch::Tensor draw_memory_bank_columns(const torch::Tensor& global_ids, int64_t num_instances,
                                       int64_t num_negative, uint64_t seed, int64_t step) {
  if (num_instances < 1 || num_negative < 0) {
    throw std::invalid_argument("draw_memory_bank_columns: need N >= 1 and K >= 0");
  }
  const torch::Tensor ids = global_ids.to(torch::kLong).contiguous();
  const int64_t batch = ids.numel();
  torch::Tensor columns = torch::empty({batch, 1 + num_negative}, torch::kLong);
  int64_t* out = columns.data_ptr<int64_t>();
  const int64_t* id = ids.data_ptr<int64_t>();
  const auto n = static_cast<uint64_t>(num_instances);
  for (int64_t i = 0; i < batch; ++i) {
    CounterRng rng(
        hash_key({seed, kColumnStream, static_cast<uint64_t>(step), static_cast<uint64_t>(i)}));
    int64_t* row = out + i * (1 + num_negative);
    row[0] = id[i];
    for (int64_t j = 1; j <= num_negative; ++j) row[j] = static_cast<int64_t>(rng.below(n));
  }
  return columns;
}

}  // namespace pic
