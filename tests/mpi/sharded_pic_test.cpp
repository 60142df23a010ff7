// The sharded PIC head under a real mpiexec (1, 2 and 3 ranks), against
//   1. heads.h5 `pic`: the original's loss and gradients, with the 8 features and the 40
//      classifier rows split over the ranks (3 ranks: 3/3/2 features, 14/13/13 rows);
//   2. a dense single-process computation of the same training steps, which every rank
//      repeats on its own with the whole global batch: a replicated linear "encoder" A and
//      the full N x D classifier, SGD with momentum and weight decay. Cases: full softmax;
//      negative sampling (uniform and recent) with the freeze and the lazy correction. The
//      dense reference of a sampled step restricts the softmax to the union of the ranks'
//      active rows; freeze updates only those rows, lazy updates every row (zero gradient
//      elsewhere), which is exactly what the lazy catch-up must reproduce.
// Prints "OK: <W> ranks" on rank 0.
#include <torch/torch.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "comm/mpi_communicator.h"
#include "core/instance_classifier.h"
#include "core/instance_softmax.h"
#include "core/negative_set.h"
#include "core/sampler.h"
#include "core/sgd.h"
#include "data/reference_file.h"
#include "tensor_checks.h"

namespace {

using pic::test::expect_close;

// ---------------------------------------------------------------------------------------
void check_heads_reference(pic::Communicator& comm, int64_t chunk_rows) {
  const pic::ReferenceFile file(std::string(PIC_TESTDATA_DIR) + "/heads.h5");
  const torch::Tensor feature = file.read_tensor("pic/feature");  // [8, 16]
  const torch::Tensor weight = file.read_tensor("pic/weight");    // [40, 16]
  const torch::Tensor ids = file.read_tensor("pic/y_idx");        // [8]
  const int W = comm.world_size(), r = comm.rank();
  const pic::ShardRange crops = pic::shard_range(feature.size(0), r, W);
  const pic::ShardRange rows = pic::shard_range(weight.size(0), r, W);

  pic::InstanceSoftmaxInput in;
  in.group_features = {feature.slice(0, crops.begin, crops.end).contiguous()};
  in.instance_ids = ids.slice(0, crops.begin, crops.end).contiguous();
  in.rows = weight.slice(0, rows.begin, rows.end).contiguous();
  in.row_ids = torch::arange(rows.begin, rows.end, torch::kLong);
  in.temperature = file.read_double_attribute("pic", "temperature");
  in.chunk_rows = chunk_rows;
  const pic::InstanceSoftmaxResult out = pic::instance_softmax_cross_entropy(in, comm);

  const std::string where = "heads.h5 pic, chunk " + std::to_string(chunk_rows);
  const double loss_ref = file.read_double_attribute("pic", "loss");
  if (std::abs(out.loss - loss_ref) > 1e-5 * std::abs(loss_ref)) {
    throw std::runtime_error(where + ": loss " + std::to_string(out.loss) + " vs " +
                             std::to_string(loss_ref));
  }
  expect_close(comm.all_gather_rows(out.grad_group_features[0].contiguous()),
               file.read_tensor("pic/grad_feature"), 1e-4, where + " grad_feature");
  expect_close(comm.all_gather_rows(out.grad_rows.contiguous()),
               file.read_tensor("pic/grad_weight"), 1e-4, where + " grad_weight");
}

// ---------------------------------------------------------------------------------------
// The training-steps comparison.
constexpr int64_t kInstances = 23, kDim = 8, kInput = 6, kBatch = 4, kSteps = 7;
constexpr uint64_t kSeed = 11;
constexpr double kMomentum = 0.9, kWeightDecay = 0.05, kTemperature = 0.3;

double lr_at(int64_t step) { return 0.4 + 0.3 * static_cast<double>(step % 3); }

struct Case {
  std::string name;
  int64_t rows_per_rank = 0;  // 0: full softmax
  pic::NegativeSampling sampling = pic::NegativeSampling::kUniform;
  pic::UpdateCorrection correction = pic::UpdateCorrection::kLazy;
};

pic::EpochSamplerConfig sampler_config(int rank, int world) {
  pic::EpochSamplerConfig c;
  c.shard_size = pic::shard_range(kInstances, rank, world).size();
  c.min_shard_size = pic::shard_range(kInstances, world - 1, world).size();
  c.batch_size = kBatch;
  c.seed = kSeed;
  c.rank = rank;
  return c;
}

// What every rank feeds at one step, identical on all ranks (they all rebuild it).
struct GlobalBatch {
  std::vector<torch::Tensor> ids;     // per rank [B] global ids
  std::vector<torch::Tensor> large;   // per rank [2B, kInput], crop-major
  std::vector<torch::Tensor> small;   // per rank [B, kInput]
  std::vector<torch::Tensor> active;  // per rank [k] global ids (sorted)
};

// Softmax cross-entropy over the columns `columns` (global ids) of `weight`, autograd.
torch::Tensor dense_loss(const GlobalBatch& b, const torch::Tensor& A, const torch::Tensor& weight,
                         const torch::Tensor& columns) {
  namespace F = torch::nn::functional;
  const auto unit = [](const torch::Tensor& x) {
    return F::normalize(x, F::NormalizeFuncOptions().p(2).dim(1));
  };
  const torch::Tensor w = unit(weight.index_select(0, columns));
  std::vector<torch::Tensor> logits, labels;
  for (size_t q = 0; q < b.ids.size(); ++q) {
    const torch::Tensor pos = torch::searchsorted(columns, b.ids[q]);
    logits.push_back(unit(b.large[q].mm(A)).mm(w.t()) / kTemperature);
    labels.push_back(pos.repeat({2}));
    logits.push_back(unit(b.small[q].mm(A)).mm(w.detach().t()) / kTemperature);
    labels.push_back(pos);
  }
  return F::cross_entropy(torch::cat(logits), torch::cat(labels));
}

void check_training_steps(pic::Communicator& comm, const Case& c) {
  const int W = comm.world_size(), r = comm.rank();
  const pic::ShardRange mine = pic::shard_range(kInstances, r, W);

  // Dense reference state (every rank) and the sharded state (this rank's part).
  torch::manual_seed(5);
  const torch::Tensor A0 = torch::randn({kInput, kDim});
  torch::Tensor dense_A = A0.clone().requires_grad_(true);
  torch::Tensor dense_W = pic::initial_classifier_rows(kSeed, 0, kInstances, kDim);
  torch::Tensor dense_W_buf = torch::zeros_like(dense_W);
  pic::SgdOptions sgd;
  sgd.momentum = kMomentum;
  sgd.weight_decay = kWeightDecay;
  pic::Sgd dense_sgd({{"A", dense_A}}, sgd);

  torch::Tensor A = A0.clone().requires_grad_(true);
  pic::Sgd sharded_sgd({{"A", A}}, sgd);
  std::vector<double> lrs;
  for (int64_t t = 0; t < kSteps; ++t) lrs.push_back(lr_at(t));
  pic::InstanceClassifierConfig cc;
  cc.num_instances = kInstances;
  cc.rows = mine;
  cc.dim = kDim;
  cc.seed = kSeed;
  cc.sgd = sgd;
  cc.correction = c.correction;
  pic::InstanceClassifier classifier(
      cc, std::make_shared<pic::MissedSgdSteps>(lrs, kMomentum, kWeightDecay));

  // Every rank's sampler and negative set (each rank rebuilds the others' to know the
  // global batch and the union of active rows for the dense reference).
  std::vector<std::unique_ptr<pic::EpochSampler>> samplers;
  std::vector<std::unique_ptr<pic::NegativeSet>> negatives;
  for (int q = 0; q < W; ++q) {
    samplers.push_back(std::make_unique<pic::EpochSampler>(sampler_config(q, W)));
    if (c.rows_per_rank > 0) {
      pic::NegativeSetConfig nc;
      nc.shard_size = pic::shard_range(kInstances, q, W).size();
      nc.rows_per_rank = c.rows_per_rank;
      nc.mode = c.sampling;
      nc.seed = kSeed;
      nc.rank = q;
      negatives.push_back(std::make_unique<pic::NegativeSet>(
          nc, std::make_unique<pic::EpochSampler>(sampler_config(q, W))));
    }
  }

  for (int64_t t = 0; t < kSteps; ++t) {
    GlobalBatch b;
    torch::manual_seed(100 + static_cast<uint64_t>(t));
    for (int q = 0; q < W; ++q) {
      const int64_t begin = pic::shard_range(kInstances, q, W).begin;
      b.ids.push_back(torch::tensor(samplers[q]->indices_for_step(t), torch::kLong) + begin);
      b.large.push_back(torch::randn({2 * kBatch, kInput}));
      b.small.push_back(torch::randn({kBatch, kInput}));
      const torch::Tensor local =
          c.rows_per_rank > 0
              ? torch::tensor(negatives[q]->rows_for_step(t), torch::kLong)
              : torch::arange(pic::shard_range(kInstances, q, W).size(), torch::kLong);
      b.active.push_back(local + begin);
    }
    const torch::Tensor columns = torch::cat(b.active);  // sorted: ranks own ascending blocks

    // Dense step.
    dense_sgd.zero_grad();
    torch::Tensor W_param = dense_W.clone().requires_grad_(true);
    const torch::Tensor dense = dense_loss(b, dense_A, W_param, columns);
    dense.backward();
    dense_sgd.step(lr_at(t));
    {
      torch::NoGradGuard no_grad;
      // freeze: only the active rows move; lazy: every row (zero gradient elsewhere).
      const torch::Tensor rows = c.correction == pic::UpdateCorrection::kFreeze
                                     ? columns
                                     : torch::arange(kInstances, torch::kLong);
      const torch::Tensor g = W_param.grad().index_select(0, rows);
      const torch::Tensor w = dense_W.index_select(0, rows);
      torch::Tensor buf = dense_W_buf.index_select(0, rows);
      buf.mul_(kMomentum).add_(g.add(w, kWeightDecay));
      dense_W.index_copy_(0, rows, w - lr_at(t) * buf);
      dense_W_buf.index_copy_(0, rows, buf);
    }

    // Sharded step.
    sharded_sgd.zero_grad();
    const torch::Tensor local = b.active[static_cast<size_t>(r)] - mine.begin;
    pic::InstanceSoftmaxInput in;
    std::vector<torch::Tensor> features = {b.large[static_cast<size_t>(r)].mm(A),
                                           b.small[static_cast<size_t>(r)].mm(A)};
    in.group_features = features;
    in.instance_ids = b.ids[static_cast<size_t>(r)];
    in.rows = classifier.active_rows(local, t);
    in.row_ids = b.active[static_cast<size_t>(r)];
    in.temperature = kTemperature;
    in.chunk_rows = 3;  // several blocks even for the smallest active set
    const pic::InstanceSoftmaxResult out = pic::instance_softmax_cross_entropy(in, comm);
    torch::autograd::backward(features,
                              {out.grad_group_features[0] * W, out.grad_group_features[1] * W});
    torch::Tensor grad_A = A.grad().contiguous();
    comm.all_reduce_sum(grad_A);
    A.mutable_grad().copy_(grad_A / W);
    sharded_sgd.step(lr_at(t));
    classifier.update(local, out.grad_rows, lr_at(t), t);

    const std::string where = c.name + " step " + std::to_string(t);
    if (std::abs(out.loss - dense.item<double>()) > 1e-5 * std::abs(dense.item<double>())) {
      throw std::runtime_error(where + ": loss " + std::to_string(out.loss) + " vs dense " +
                               std::to_string(dense.item<double>()));
    }
    expect_close(A.detach(), dense_A.detach(), 1e-5, where + " encoder");
  }
  classifier.catch_up_all(kSteps);
  expect_close(comm.all_gather_rows(classifier.weight().contiguous()), dense_W, 1e-5,
               c.name + " classifier after " + std::to_string(kSteps) + " steps");
  expect_close(comm.all_gather_rows(classifier.momentum().contiguous()), dense_W_buf, 1e-5,
               c.name + " momentum after " + std::to_string(kSteps) + " steps");
}

int run_checks(pic::Communicator& comm) {
  torch::set_num_threads(1);
  for (int64_t chunk : {int64_t{65536}, int64_t{3}}) check_heads_reference(comm, chunk);

  std::vector<Case> cases = {
      {"full softmax", 0, pic::NegativeSampling::kUniform, pic::UpdateCorrection::kLazy},
      {"uniform K=5 freeze", 5, pic::NegativeSampling::kUniform, pic::UpdateCorrection::kFreeze},
      {"uniform K=5 lazy", 5, pic::NegativeSampling::kUniform, pic::UpdateCorrection::kLazy},
      {"recent K=6 lazy", 6, pic::NegativeSampling::kRecent, pic::UpdateCorrection::kLazy},
      {"K >= N", kInstances, pic::NegativeSampling::kRecent, pic::UpdateCorrection::kFreeze}};
  for (const Case& c : cases) check_training_steps(comm, c);
  comm.barrier();
  if (comm.is_root()) std::printf("OK: %d ranks\n", comm.world_size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return pic::run_mpi_main(argc, argv, run_checks); }
