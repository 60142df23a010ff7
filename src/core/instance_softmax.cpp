#include "core/instance_softmax.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

namespace pic {
namespace {

// torch.nn.functional.normalize's epsilon: rows shorter than this are divided by it.
constexpr double kNormEpsilon = 1e-12;

struct Normalized {
  torch::Tensor unit;  // [n, D] x / max(|x|, eps)
  torch::Tensor norm;  // [n, 1] |x|
};

Normalized normalize_rows(const torch::Tensor& x) {
  Normalized n;
  n.norm = x.norm(2, 1, /*keepdim=*/true);
  n.unit = x / n.norm.clamp_min(kNormEpsilon);
  return n;
}

// Backward of normalize_rows: for |x| >= eps, dx = (du - u (u . du)) / |x|; below eps the
// denominator is the constant eps, so dx = du / eps (what autograd gives through clamp_min).
torch::Tensor normalize_rows_backward(const Normalized& n, const torch::Tensor& grad_unit) {
  const torch::Tensor active = (n.norm >= kNormEpsilon).to(grad_unit.scalar_type());
  const torch::Tensor radial = (n.unit * grad_unit).sum(1, /*keepdim=*/true) * active;
  return (grad_unit - n.unit * radial) / n.norm.clamp_min(kNormEpsilon);
}

void check_input(const InstanceSoftmaxInput& in) {
  if (in.group_features.empty()) {
    throw std::invalid_argument("instance softmax: no crop groups");
  }
  if (in.instance_ids.dim() != 1 || in.instance_ids.scalar_type() != torch::kLong) {
    throw std::invalid_argument("instance softmax: instance_ids must be 1-D int64");
  }
  if (in.rows.dim() != 2 || in.row_ids.dim() != 1 || in.row_ids.scalar_type() != torch::kLong ||
      in.row_ids.size(0) != in.rows.size(0)) {
    throw std::invalid_argument("instance softmax: rows must be [k, D] with k int64 row_ids, got " +
                                c10::str(in.rows.sizes(), " and ", in.row_ids.sizes()));
  }
  if (!(in.temperature > 0)) throw std::invalid_argument("instance softmax: temperature <= 0");
  if (in.chunk_rows < 1) throw std::invalid_argument("instance softmax: chunk_rows < 1");
  const int64_t batch = in.instance_ids.size(0);
  for (size_t g = 0; g < in.group_features.size(); ++g) {
    const torch::Tensor& f = in.group_features[g];
    if (f.dim() != 2 || f.size(1) != in.rows.size(1) ||
        (batch == 0 ? f.size(0) != 0 : f.size(0) % batch != 0)) {
      throw std::invalid_argument("instance softmax: crop group " + std::to_string(g) +
                                  " has features " + c10::str(f.sizes()) + "; expected [k * " +
                                  std::to_string(batch) + ", " + std::to_string(in.rows.size(1)) +
                                  "]");
    }
  }
}

// Where each gathered crop row came from: its label and whether it trains the classifier.
struct GatheredLayout {
  std::vector<int64_t> rows_per_rank;  // crops of each rank
  int64_t my_offset = 0;               // first row of this rank's block
  torch::Tensor labels;                // [R] int64
  torch::Tensor training_rows;         // indices of the group-0 rows among the R
};

GatheredLayout gather_layout(const InstanceSoftmaxInput& in, Communicator& comm) {
  const int64_t batch = in.instance_ids.size(0);
  std::vector<int64_t> crops_per_image;
  for (const torch::Tensor& f : in.group_features) {
    crops_per_image.push_back(batch == 0 ? 0 : f.size(0) / batch);
  }
  // Every rank has the same crop structure; only the batch size may differ (tests).
  const std::vector<int64_t> batches = comm.all_gather(batch);
  const torch::Tensor ids = comm.all_gather_rows(in.instance_ids.contiguous());

  GatheredLayout layout;
  std::vector<torch::Tensor> labels, training;
  int64_t id_offset = 0, row_offset = 0;
  for (int q = 0; q < comm.world_size(); ++q) {
    const int64_t b = batches[static_cast<size_t>(q)];
    const torch::Tensor ids_q = ids.narrow(0, id_offset, b);
    if (q == comm.rank()) layout.my_offset = row_offset;
    int64_t rows_q = 0;
    for (size_t g = 0; g < crops_per_image.size(); ++g) {
      const int64_t rows_g = crops_per_image[g] * b;
      labels.push_back(ids_q.repeat({crops_per_image[g]}));
      if (g == 0) training.push_back(torch::arange(row_offset, row_offset + rows_g, torch::kLong));
      row_offset += rows_g;
      rows_q += rows_g;
    }
    layout.rows_per_rank.push_back(rows_q);
    id_offset += b;
  }
  layout.labels = torch::cat(labels);
  layout.training_rows = torch::cat(training);
  return layout;
}

}  // namespace

InstanceSoftmaxResult instance_softmax_cross_entropy(const InstanceSoftmaxInput& in,
                                                     Communicator& comm) {
  torch::NoGradGuard no_grad;
  check_input(in);
  const double inv_t = 1.0 / in.temperature;

  // 1. All crops of the global batch, normalised: [R, D], rank-major, groups within a rank.
  std::vector<torch::Tensor> mine;
  for (const torch::Tensor& f : in.group_features) mine.push_back(f.detach().to(torch::kFloat));
  const torch::Tensor local = torch::cat(mine).contiguous();
  const GatheredLayout layout = gather_layout(in, comm);
  const Normalized features = normalize_rows(comm.all_gather_rows(local));
  const torch::Tensor& f = features.unit;
  const int64_t R = f.size(0), k = in.rows.size(0);
  const Normalized rows = normalize_rows(in.rows.detach().to(torch::kFloat));
  const torch::Tensor& w = rows.unit;

  // Positives: the crops whose label is one of this rank's rows.
  const torch::Tensor where =
      torch::searchsorted(in.row_ids, layout.labels).clamp_max(std::max<int64_t>(k - 1, 0));
  const torch::Tensor owned = k == 0 ? torch::zeros({R}, torch::kBool)
                                     : in.row_ids.index_select(0, where).eq(layout.labels);
  const torch::Tensor owned_crops = owned.nonzero().flatten();          // [P]
  const torch::Tensor owned_rows = where.index_select(0, owned_crops);  // [P]
  torch::Tensor positive = torch::zeros({R}, torch::kFloat);
  if (owned_crops.numel() > 0) {
    positive.index_put_(
        {owned_crops},
        (f.index_select(0, owned_crops) * w.index_select(0, owned_rows)).sum(1) * inv_t);
  }

  // 2. This rank's (max, sum of exp) per crop, one [R, chunk] block of logits at a time
  // (kept when there is a single block, so it is not recomputed in pass 2).
  const float neg_inf = -std::numeric_limits<float>::infinity();
  torch::Tensor local_max = torch::full({R}, neg_inf, torch::kFloat);
  torch::Tensor local_sum = torch::zeros({R}, torch::kFloat);
  const int64_t chunk = std::min(in.chunk_rows, std::max<int64_t>(k, 1));
  torch::Tensor kept_logits;
  for (int64_t begin = 0; begin < k; begin += chunk) {
    const int64_t size = std::min(chunk, k - begin);
    torch::Tensor logits = f.mm(w.narrow(0, begin, size).t()).mul_(inv_t);  // [R, size]
    const torch::Tensor new_max = torch::maximum(local_max, std::get<0>(logits.max(1)));
    local_sum =
        local_sum * (local_max - new_max).exp() + (logits - new_max.unsqueeze(1)).exp().sum(1);
    local_max = new_max;
    if (size == k) kept_logits = logits;
  }

  // 3. The global normaliser: log sum_j exp(l_ij) over the active rows of every rank.
  torch::Tensor global_max = local_max.clone();
  comm.all_reduce_max(global_max);
  const torch::Tensor scaled_sum = torch::where(
      local_sum > 0, local_sum * (local_max - global_max).exp(), torch::zeros_like(local_sum));
  torch::Tensor sums = torch::cat({scaled_sum, positive, owned.to(torch::kFloat)});  // [3R]
  comm.all_reduce_sum(sums);
  const torch::Tensor found = sums.narrow(0, 2 * R, R);
  if (R > 0 && found.min().item<float>() < 0.5f) {
    const int64_t crop = found.lt(0.5f).nonzero()[0][0].item<int64_t>();
    throw std::invalid_argument("instance softmax: crop " + std::to_string(crop) + " (label " +
                                std::to_string(layout.labels[crop].item<int64_t>()) +
                                ") has no classifier row on any rank");
  }
  const torch::Tensor log_normaliser = global_max + sums.narrow(0, 0, R).log();  // [R]
  const torch::Tensor positive_logit = sums.narrow(0, R, R);

  InstanceSoftmaxResult result;
  result.global_crops = R;
  result.loss =
      R == 0 ? 0.0 : (log_normaliser - positive_logit).to(torch::kDouble).mean().item<double>();

  // 4. d loss / d logit = (softmax - onehot) / R; through logit = f.w / T to both sides.
  const double scale = R == 0 ? 0.0 : inv_t / static_cast<double>(R);
  torch::Tensor grad_f = torch::zeros_like(f);  // [R, D], partial: this rank's rows only
  torch::Tensor grad_w = torch::zeros_like(w);  // [k, D], complete
  const torch::Tensor f_training = f.index_select(0, layout.training_rows);
  for (int64_t begin = 0; begin < k; begin += chunk) {
    const int64_t size = std::min(chunk, k - begin);
    const torch::Tensor w_chunk = w.narrow(0, begin, size);
    torch::Tensor logits = kept_logits.defined() ? kept_logits : f.mm(w_chunk.t()).mul_(inv_t);
    torch::Tensor g = logits.sub_(log_normaliser.unsqueeze(1)).exp_();  // softmax, in place
    const torch::Tensor in_chunk = owned_rows.ge(begin).logical_and(owned_rows.lt(begin + size));
    const torch::Tensor crops = owned_crops.masked_select(in_chunk);
    const torch::Tensor cols = owned_rows.masked_select(in_chunk) - begin;
    if (crops.numel() > 0) g.index_put_({crops, cols}, torch::tensor(-1.0f), /*accumulate=*/true);
    g.mul_(scale);
    grad_f.addmm_(g, w_chunk);
    grad_w.narrow(0, begin, size).copy_(g.index_select(0, layout.training_rows).t().mm(f_training));
  }
  result.grad_rows = normalize_rows_backward(rows, grad_w);

  // 5. Feature gradients back to their owners, then through this rank's normalisation.
  const torch::Tensor grad_mine = comm.reduce_scatter_rows(grad_f, layout.rows_per_rank);
  const int64_t my_rows = local.size(0);
  Normalized my_features{features.unit.narrow(0, layout.my_offset, my_rows),
                         features.norm.narrow(0, layout.my_offset, my_rows)};
  const torch::Tensor grad_local = normalize_rows_backward(my_features, grad_mine);
  int64_t offset = 0;
  for (const torch::Tensor& group : in.group_features) {
    result.grad_group_features.push_back(
        grad_local.narrow(0, offset, group.size(0)).to(group.scalar_type()));
    offset += group.size(0);
  }
  return result;
}

}  // namespace pic
