// The baselines across ranks under a real mpiexec (1, 2 and 3 ranks), each against one
// process holding the whole batch, where the method's definition makes the two equal:
//   1. heads.h5 `instdisc` with its 8 features and its memory bank split over the ranks
//      (memory_bank_softmax), in one block of pairs and in blocks of 3;
//   2. synchronised BatchNorm: a small ResNet in training mode over an uneven split of one
//      batch (2 ranks 4/2, 3 ranks 3/2/1): features, input and parameter gradients and
//      running statistics against the plain ResNet on the whole batch;
//   3. SimCLR (SyncBN + NT-Xent + LARS), two steps;
//   4. MoCo: shuffled BatchNorm in training mode against the key encoder run on the
//      shuffled batch's per-rank chunks; then three SGD steps (key EMA, queue wrap-around)
//      with BatchNorm in eval mode, where no batch statistics couple the samples;
//   5. InstDisc (sharded memory bank): three SGD steps with BatchNorm in eval mode, in
//      float64: at temperature 0.1 with the bank feeding back its own features, float32
//      summation-order differences (ranks add partial gradients) grow to ~1e-5 by step 1.
// The whole-batch reference runs on every rank with a one-process communicator.
// Prints "OK: <W> ranks" on rank 0.
#include <torch/torch.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "comm/mpi_communicator.h"
#include "core/batch_norm.h"
#include "core/instdisc_method.h"
#include "core/lars.h"
#include "core/memory_bank_softmax.h"
#include "core/moco_method.h"
#include "core/resnet.h"
#include "core/sampler.h"
#include "core/sgd.h"
#include "core/simclr_method.h"
#include "data/reference_file.h"
#include "tensor_checks.h"

namespace {

namespace F = torch::nn::functional;

using pic::test::expect_close;

void expect_close(double ours, double ref, double tolerance, const std::string& what) {
  if (!(std::abs(ours - ref) <= tolerance * std::max(1.0, std::abs(ref)))) {
    throw std::runtime_error(what + ": " + std::to_string(ours) + " vs " + std::to_string(ref));
  }
}

pic::NamedTensors named_parameters(pic::ResNet& net) {
  pic::NamedTensors named;
  for (const auto& item : net->named_parameters()) named.emplace_back(item.key(), item.value());
  return named;
}

// Every parameter and buffer of `ours` against `ref`, by name.
void expect_same_state(pic::ResNet& ours, pic::ResNet& ref, double tolerance,
                       const std::string& what) {
  const auto ref_params = ref->named_parameters();
  for (const auto& item : ours->named_parameters()) {
    expect_close(item.value().detach(), ref_params[item.key()].detach(), tolerance,
                 what + " " + item.key());
  }
  const auto ref_buffers = ref->named_buffers();
  for (const auto& item : ours->named_buffers()) {
    if (item.value().scalar_type() == torch::kLong) continue;  // num_batches_tracked
    expect_close(item.value(), ref_buffers[item.key()], tolerance, what + " " + item.key());
  }
}

// The trainer's data-parallel step: gradients averaged over the ranks.
void average_gradients(pic::ResNet& net, pic::Communicator& comm) {
  for (auto& p : net->parameters()) {
    if (!p.grad().defined()) continue;
    torch::Tensor g = p.grad().contiguous();
    comm.all_reduce_sum(g);
    p.mutable_grad() = g / comm.world_size();
  }
}

// The whole-batch reference and this rank's method side by side, a step as pic-pretrain
// runs it.
struct SideBySide {
  pic::TrainingMethod& ref;
  pic::Optimizer& ref_opt;
  pic::TrainingMethod& method;
  pic::Optimizer& opt;
  pic::Communicator& comm;

  // Forward and backward on both, the losses equal to `tolerance`; then the method's
  // gradients are averaged over the ranks (the trainer's all-reduce).
  void forward_backward(const pic::CropBatch& whole, const pic::CropBatch& part, int64_t step,
                        double tolerance, const std::string& where) {
    ref_opt.zero_grad();
    opt.zero_grad();
    const double ref_loss = ref.forward_backward(whole, step);
    const double loss = method.forward_backward(part, step);
    expect_close(loss, ref_loss, tolerance, where + " loss");
    average_gradients(method.encoder(), comm);
  }

  // Both optimizer steps, then each method's own update (bank, key encoder, queue).
  void update(double lr, int64_t step) {
    ref_opt.step(lr);
    opt.step(lr);
    ref.after_step(lr, step);
    method.after_step(lr, step);
  }
};

pic::ResNet tiny_resnet(uint64_t seed, int64_t feature_dim = 8) {
  pic::ResNetConfig config;
  config.arch = "resnet18";
  config.width = 0.125;
  config.small_stem = true;
  config.feature_dim = feature_dim;
  torch::manual_seed(seed);
  return pic::ResNet(config);
}

// This rank's rows [begin, end) of a global batch split into consecutive blocks of `sizes`.
pic::ShardRange split(const std::vector<int64_t>& sizes, int rank) {
  int64_t begin = 0;
  for (int r = 0; r < rank; ++r) begin += sizes[static_cast<size_t>(r)];
  return {begin, begin + sizes[static_cast<size_t>(rank)]};
}

// ---------------------------------------------------------------------------------------
void check_instdisc_reference(pic::Communicator& comm, int64_t chunk_pairs) {
  const pic::ReferenceFile file(std::string(PIC_TESTDATA_DIR) + "/heads.h5");
  const torch::Tensor x = file.read_tensor("instdisc/x");                 // [8, 16]
  const torch::Tensor bank = file.read_tensor("instdisc/memory_before");  // [N, 16]
  const torch::Tensor sample_idx = file.read_tensor("instdisc/sample_idx");
  const int W = comm.world_size(), r = comm.rank();
  const pic::ShardRange crops = pic::shard_range(x.size(0), r, W);
  const pic::ShardRange rows = pic::shard_range(bank.size(0), r, W);

  torch::Tensor mine = x.slice(0, crops.begin, crops.end).clone().requires_grad_(true);
  const torch::Tensor unit = F::normalize(mine, F::NormalizeFuncOptions().p(2).dim(1));
  pic::MemoryBankSoftmaxInput in;
  in.features = unit.detach();
  in.sample_idx = sample_idx;
  in.bank = bank.slice(0, rows.begin, rows.end).contiguous();
  in.row_begin = rows.begin;
  in.temperature = file.read_double_attribute("instdisc", "temperature");
  in.chunk_pairs = chunk_pairs;
  const pic::MemoryBankSoftmaxResult out = pic::memory_bank_softmax(in, comm);
  torch::autograd::backward({unit}, {out.grad_features});

  const std::string where = "heads.h5 instdisc, blocks of " + std::to_string(chunk_pairs);
  expect_close(out.loss, file.read_double_attribute("instdisc", "loss"), 1e-5, where + " loss");
  expect_close(comm.all_gather_rows(mine.grad().contiguous()), file.read_tensor("instdisc/grad_x"),
               1e-4, where + " grad_x");
}

// ---------------------------------------------------------------------------------------
void check_sync_batch_norm(pic::Communicator& comm) {
  const int W = comm.world_size(), r = comm.rank();
  constexpr int64_t kBatch = 6;
  const std::vector<int64_t> sizes = W == 1   ? std::vector<int64_t>{6}
                                     : W == 2 ? std::vector<int64_t>{4, 2}
                                              : std::vector<int64_t>{3, 2, 1};
  const pic::ShardRange mine = split(sizes, r);
  torch::manual_seed(21);
  const torch::Tensor images = torch::randn({kBatch, 3, 8, 8});
  const torch::Tensor projection = torch::randn({kBatch, 8});

  // Whole batch, plain BatchNorm. The loss is a sum over samples, so that the ranks' parts
  // add up (parameter gradients are summed here, not averaged).
  pic::ResNet ref = tiny_resnet(4);
  ref->train();
  torch::Tensor ref_x = images.clone().requires_grad_(true);
  const torch::Tensor ref_features = ref->forward(ref_x);
  (ref_features * projection).sum().backward();

  pic::ResNet net = tiny_resnet(4);
  net->train();
  if (pic::synchronise_batch_norm(*net, &comm) < 10) throw std::runtime_error("SyncBN: no layers");
  torch::Tensor x = images.slice(0, mine.begin, mine.end).clone().requires_grad_(true);
  const torch::Tensor features = net->forward(x);
  (features * projection.slice(0, mine.begin, mine.end)).sum().backward();

  expect_close(comm.all_gather_rows(features.detach().contiguous()), ref_features.detach(), 1e-5,
               "SyncBN forward");
  expect_close(comm.all_gather_rows(x.grad().contiguous()), ref_x.grad(), 1e-4,
               "SyncBN input gradient");
  const auto ref_params = ref->named_parameters();
  for (const auto& item : net->named_parameters()) {
    torch::Tensor g = item.value().grad().contiguous();
    comm.all_reduce_sum(g);
    expect_close(g, ref_params[item.key()].grad(), 1e-4, "SyncBN gradient of " + item.key());
  }
  const auto ref_buffers = ref->named_buffers();
  for (const auto& item : net->named_buffers()) {
    if (item.value().scalar_type() == torch::kLong) continue;
    expect_close(item.value(), ref_buffers[item.key()], 1e-5, "SyncBN " + item.key());
  }
}

// ---------------------------------------------------------------------------------------
// Two views of each image, this rank's rows: [view 0 of its images | view 1 of its images].
pic::CropBatch two_view_batch(const torch::Tensor& view0, const torch::Tensor& view1,
                              const pic::ShardRange& mine, const torch::Tensor& ids) {
  pic::CropBatch batch;
  batch.groups = {
      torch::cat({view0.slice(0, mine.begin, mine.end), view1.slice(0, mine.begin, mine.end)})};
  batch.instance_ids = ids.slice(0, mine.begin, mine.end).contiguous();
  return batch;
}

void check_simclr(pic::Communicator& comm) {
  const int W = comm.world_size(), r = comm.rank();
  constexpr int64_t kBatch = 6;
  const pic::ShardRange mine = pic::shard_range(kBatch, r, W);
  const auto local = pic::make_local_communicator();
  pic::SimclrConfig config;
  config.temperature = 0.2;
  pic::SimclrMethod ref(tiny_resnet(5), config, *local);
  pic::SimclrMethod method(tiny_resnet(5), config, comm);
  pic::LarsOptions lars;
  lars.weight_decay = 1e-3;
  pic::Lars ref_opt(named_parameters(ref.encoder()), lars);
  pic::Lars opt(named_parameters(method.encoder()), lars);
  SideBySide both{ref, ref_opt, method, opt, comm};
  ref.encoder()->train();
  method.encoder()->train();
  const torch::Tensor ids = torch::arange(kBatch, torch::kLong);

  for (int64_t step = 0; step < 2; ++step) {
    torch::manual_seed(100 + step);
    const torch::Tensor v0 = torch::randn({kBatch, 3, 8, 8});
    const torch::Tensor v1 = torch::randn({kBatch, 3, 8, 8});
    const std::string where = "SimCLR step " + std::to_string(step);
    both.forward_backward(two_view_batch(v0, v1, {0, kBatch}, ids),
                          two_view_batch(v0, v1, mine, ids), step, 1e-5, where);
    const auto ref_params = ref.encoder()->named_parameters();
    for (const auto& item : method.encoder()->named_parameters()) {
      expect_close(item.value().grad(), ref_params[item.key()].grad(), 1e-4,
                   where + " gradient of " + item.key());
    }
    both.update(0.5, step);
    expect_same_state(method.encoder(), ref.encoder(), 1e-5, where + " after LARS:");
  }
}

// ---------------------------------------------------------------------------------------
void check_moco_shuffle(pic::Communicator& comm) {
  const int W = comm.world_size(), r = comm.rank();
  constexpr int64_t kBatch = 6;
  constexpr int64_t kStep = 3;
  const pic::ShardRange mine = pic::shard_range(kBatch, r, W);
  pic::MocoConfig config;
  config.queue_size = 12;
  config.seed = 9;
  pic::MocoMethod method(tiny_resnet(6), config, comm);
  torch::manual_seed(31);
  const torch::Tensor images = torch::randn({kBatch, 3, 8, 8});
  const auto [keys, all_keys] =
      method.shuffled_keys(images.slice(0, mine.begin, mine.end).contiguous(), kStep);

  // The definition: shuffle the global batch, run the key encoder (training mode) on each
  // rank's chunk of it, un-shuffle.
  pic::ResNet key_encoder = tiny_resnet(6);
  key_encoder->train();
  const std::vector<int64_t> order = pic::moco_shuffle_order(config.seed, kStep, kBatch);
  const torch::Tensor permutation = torch::tensor(order, torch::kLong);
  const torch::Tensor shuffled = images.index_select(0, permutation);
  std::vector<torch::Tensor> chunks;
  torch::NoGradGuard no_grad;
  for (int q = 0; q < W; ++q) {
    const pic::ShardRange part = pic::shard_range(kBatch, q, W);
    chunks.push_back(key_encoder->forward(shuffled.slice(0, part.begin, part.end)));
  }
  const torch::Tensor expected_shuffled =
      F::normalize(torch::cat(chunks), F::NormalizeFuncOptions().p(2).dim(1));
  torch::Tensor expected = torch::empty_like(expected_shuffled);
  expected.index_copy_(0, permutation, expected_shuffled);
  expect_close(all_keys, expected, 1e-5, "MoCo shuffled keys (all ranks)");
  expect_close(keys, expected.slice(0, mine.begin, mine.end), 1e-5, "MoCo shuffled keys (mine)");
  if (W > 1 && torch::allclose(shuffled.slice(0, mine.begin, mine.end),
                               images.slice(0, mine.begin, mine.end))) {
    throw std::runtime_error("MoCo shuffle: rank " + std::to_string(r) + " kept its own batch");
  }
}

void check_moco_steps(pic::Communicator& comm) {
  const int W = comm.world_size(), r = comm.rank();
  constexpr int64_t kBatch = 6;
  const pic::ShardRange mine = pic::shard_range(kBatch, r, W);
  const auto local = pic::make_local_communicator();
  pic::MocoConfig config;
  config.queue_size = 12;  // two steps fill it, the third wraps around
  config.momentum = 0.9;
  config.temperature = 0.2;
  config.seed = 9;
  pic::MocoMethod ref(tiny_resnet(7), config, *local);
  pic::MocoMethod method(tiny_resnet(7), config, comm);
  for (pic::MocoMethod* m : {&ref, &method}) {
    m->encoder()->eval();
    m->key_encoder()->eval();
  }
  pic::SgdOptions sgd;
  sgd.weight_decay = 1e-3;
  pic::Sgd ref_opt(named_parameters(ref.encoder()), sgd);
  pic::Sgd opt(named_parameters(method.encoder()), sgd);
  SideBySide both{ref, ref_opt, method, opt, comm};
  const torch::Tensor ids = torch::arange(kBatch, torch::kLong);
  for (int64_t step = 0; step < 3; ++step) {
    torch::manual_seed(200 + step);
    const torch::Tensor v0 = torch::randn({kBatch, 3, 8, 8});
    const torch::Tensor v1 = torch::randn({kBatch, 3, 8, 8});
    const std::string where = "MoCo step " + std::to_string(step);
    both.forward_backward(two_view_batch(v0, v1, {0, kBatch}, ids),
                          two_view_batch(v0, v1, mine, ids), step, 1e-5, where);
    both.update(0.3, step);
    expect_same_state(method.encoder(), ref.encoder(), 1e-5, where + " query encoder:");
    expect_same_state(method.key_encoder(), ref.key_encoder(), 1e-5, where + " key encoder:");
    expect_close(method.queue(), ref.queue(), 1e-5, where + " queue");
    if (method.queue_pointer() != ref.queue_pointer()) {
      throw std::runtime_error(where + ": queue pointer " + std::to_string(method.queue_pointer()) +
                               " vs " + std::to_string(ref.queue_pointer()));
    }
  }
}

// ---------------------------------------------------------------------------------------
void check_instdisc_steps(pic::Communicator& comm) {
  const int W = comm.world_size(), r = comm.rank();
  constexpr int64_t kInstances = 12, kBatch = 6;
  // Each rank's samples come from its own bank rows, as the trainer's shards do: with 1, 2
  // or 3 ranks these ids split 6 / 3+3 / 2+2+2 inside the shards of 12 rows.
  const torch::Tensor ids = torch::tensor({0, 1, 4, 6, 8, 9}, torch::kLong);
  const pic::ShardRange mine = pic::shard_range(kBatch, r, W);
  const auto local = pic::make_local_communicator();
  pic::InstDiscConfig config;
  config.num_instances = kInstances;
  config.num_negative = 5;
  config.temperature = 0.1;
  config.momentum = 0.5;
  config.seed = 13;
  pic::InstDiscConfig ref_config = config;
  ref_config.rows = {0, kInstances};
  config.rows = pic::shard_range(kInstances, r, W);
  pic::ResNet ref_encoder = tiny_resnet(8);
  pic::ResNet encoder = tiny_resnet(8);
  ref_encoder->to(torch::kDouble);
  encoder->to(torch::kDouble);
  pic::InstDiscMethod ref(ref_encoder, ref_config, *local);
  pic::InstDiscMethod method(encoder, config, comm);
  ref.encoder()->eval();
  method.encoder()->eval();
  pic::SgdOptions sgd;
  pic::Sgd ref_opt(named_parameters(ref.encoder()), sgd);
  pic::Sgd opt(named_parameters(method.encoder()), sgd);
  SideBySide both{ref, ref_opt, method, opt, comm};
  for (int64_t step = 0; step < 3; ++step) {
    torch::manual_seed(300 + step);
    const torch::Tensor images = torch::randn({kBatch, 3, 8, 8}, torch::kDouble);
    const std::string where = "InstDisc step " + std::to_string(step);
    pic::CropBatch whole;
    whole.groups = {images};
    whole.instance_ids = ids;
    pic::CropBatch part;
    part.groups = {images.slice(0, mine.begin, mine.end)};
    part.instance_ids = ids.slice(0, mine.begin, mine.end).contiguous();
    both.forward_backward(whole, part, step, 1e-12, where);
    both.update(0.3, step);
    expect_same_state(method.encoder(), ref.encoder(), 1e-12, where + " encoder:");
    expect_close(comm.all_gather_rows(method.memory().contiguous()), ref.memory(), 1e-12,
                 where + " memory bank");
  }
}

int run_checks(pic::Communicator& comm) {
  torch::set_num_threads(1);
  for (int64_t chunk : {int64_t{1} << 18, int64_t{3}}) check_instdisc_reference(comm, chunk);
  check_sync_batch_norm(comm);
  check_simclr(comm);
  check_moco_shuffle(comm);
  check_moco_steps(comm);
  check_instdisc_steps(comm);
  comm.barrier();
  if (comm.is_root()) std::printf("OK: %d ranks\n", comm.world_size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return pic::run_mpi_main(argc, argv, run_checks); }
