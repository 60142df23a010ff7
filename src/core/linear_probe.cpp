#include "core/linear_probe.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <utility>

#include "core/counter_rng.h"

namespace pic {

namespace {

// Stream names, so that these draws never collide with another part of pic that hashes the
// same seed.
constexpr uint64_t kInitWeightStream = 0x6c696e6561727731ULL;  // "linearw1"
constexpr uint64_t kInitBiasStream = 0x6c696e6561726231ULL;    // "linearb1"
constexpr uint64_t kBatchOrderStream = 0x6c696e6561726f31ULL;  // "linearo1"

torch::Tensor uniform_tensor(std::vector<int64_t> shape, double bound, uint64_t key) {
  int64_t numel = 1;
  for (int64_t s : shape) numel *= s;
  CounterRng rng(key);
  auto t = torch::empty(shape, torch::kFloat32);
  float* data = t.data_ptr<float>();
  for (int64_t i = 0; i < numel; ++i) data[i] = static_cast<float>(rng.uniform(-bound, bound));
  return t;
}

void check_features_labels(const torch::Tensor& features, const torch::Tensor& labels,
                           int64_t in_dim, const char* where) {
  if (features.dim() != 2 || features.size(1) != in_dim || labels.dim() != 1 ||
      labels.size(0) != features.size(0)) {
    throw std::invalid_argument(std::string(where) + ": expected features [N, " +
                                std::to_string(in_dim) + "] and labels [N], got " +
                                std::to_string(features.dim()) + "-d features with " +
                                std::to_string(features.numel()) + " values and " +
                                std::to_string(labels.numel()) + " labels");
  }
}

}  // namespace

// ---- LinearClassifier --------------------------------------------------------------------

LinearClassifier::LinearClassifier(int64_t in_dim, int64_t num_classes, uint64_t seed) {
  if (in_dim < 1 || num_classes < 1) {
    throw std::invalid_argument("LinearClassifier: in_dim and num_classes must be >= 1, got " +
                                std::to_string(in_dim) + " and " + std::to_string(num_classes));
  }
  // nn.Linear.reset_parameters: kaiming_uniform(a = sqrt(5)) on the weight is
  // uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)); the bias uses the same bound.
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_dim));
  weight_ = uniform_tensor({num_classes, in_dim}, bound, hash_key({seed, kInitWeightStream}));
  bias_ = uniform_tensor({num_classes}, bound, hash_key({seed, kInitBiasStream}));
}

torch::Tensor LinearClassifier::logits(const torch::Tensor& features) const {
  return torch::addmm(bias_, features, weight_.t());
}

NamedTensors LinearClassifier::named_parameters() const {
  return {{"fc.weight", weight_}, {"fc.bias", bias_}};
}

// ---- counting ----------------------------------------------------------------------------

TopkCounts& TopkCounts::operator+=(const TopkCounts& other) {
  num_samples += other.num_samples;
  top1_correct += other.top1_correct;
  top5_correct += other.top5_correct;
  loss_sum += other.loss_sum;
  return *this;
}

TopkCounts count_topk(const torch::Tensor& logits, const torch::Tensor& labels) {
  TopkCounts counts;
  if (logits.size(0) == 0) return counts;
  const int64_t k = std::min<int64_t>(5, logits.size(1));
  auto y = labels.to(torch::kInt64).unsqueeze(1);   // [B, 1]
  auto label_score = logits.gather(1, y);           // [B, 1]
  auto num_higher = (logits > label_score).sum(1);  // [B]
  counts.num_samples = logits.size(0);
  counts.top1_correct = (num_higher < 1).sum().item<int64_t>();
  counts.top5_correct = (num_higher < k).sum().item<int64_t>();
  // Per-sample cross-entropy in float64, so that sums over many batches stay exact enough.
  auto log_probs = torch::log_softmax(logits.to(torch::kFloat64), 1);
  counts.loss_sum = -log_probs.gather(1, y).sum().item<double>();
  return counts;
}

TopkCounts sum_over_ranks(const TopkCounts& local, Communicator& comm) {
  auto ints =
      torch::tensor({local.num_samples, local.top1_correct, local.top5_correct}, torch::kInt64);
  comm.all_reduce_sum(ints);
  TopkCounts total;
  total.num_samples = ints[0].item<int64_t>();
  total.top1_correct = ints[1].item<int64_t>();
  total.top5_correct = ints[2].item<int64_t>();
  total.loss_sum = comm.all_reduce_sum(local.loss_sum);
  return total;
}

TopkCounts evaluate_linear(const LinearClassifier& classifier, const torch::Tensor& features,
                           const torch::Tensor& labels, int64_t batch_size, Communicator& comm) {
  check_features_labels(features, labels, classifier.in_dim(), "evaluate_linear");
  if (batch_size < 1) throw std::invalid_argument("evaluate_linear: batch_size must be >= 1");
  torch::NoGradGuard no_grad;
  TopkCounts local;
  const int64_t n = features.size(0);
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const int64_t end = std::min(n, begin + batch_size);
    local +=
        count_topk(classifier.logits(features.slice(0, begin, end)), labels.slice(0, begin, end));
  }
  return sum_over_ranks(local, comm);
}

// ---- training ----------------------------------------------------------------------------

namespace {

LrScheduleConfig schedule_config(const LinearProbeConfig& config, int64_t iters_per_epoch) {
  LrScheduleConfig s;
  s.base_lr = config.learning_rate;
  s.scheduler = config.lr_scheduler;
  s.warmup_epochs = config.warmup_epochs;
  s.warmup_multiplier = config.warmup_multiplier;
  s.epochs = config.epochs;
  s.iters_per_epoch = iters_per_epoch;
  s.lr_decay_epochs = config.lr_decay_epochs;
  s.lr_decay_rate = config.lr_decay_rate;
  return s;
}

}  // namespace

LinearProbeTrainer::LinearProbeTrainer(LinearClassifier& classifier, LinearProbeConfig config,
                                       int64_t iters_per_epoch, Communicator& comm)
    : classifier_(classifier),
      config_(std::move(config)),
      comm_(comm),
      schedule_(schedule_config(config_, iters_per_epoch)),
      sgd_(classifier.named_parameters(), SgdOptions{config_.momentum, config_.weight_decay}) {
  if (config_.chunk_size < 1) throw std::invalid_argument("LinearProbeTrainer: chunk_size < 1");
}

// Cross-entropy over logits z = x W^T + b with p = softmax(z):
//   dL/dz = p - onehot(y);  dL/dW = (p - onehot)^T x;  dL/db = sum over rows of (p - onehot).
// Written out rather than through autograd: the callers run under torch::NoGradGuard.
LinearProbeTrainer::GradSums LinearProbeTrainer::grad_sums(const torch::Tensor& features,
                                                           const torch::Tensor& labels) const {
  const int64_t C = classifier_.num_classes();
  const int64_t D = classifier_.in_dim();
  if (features.size(0) == 0) {
    return {torch::zeros({}, torch::kFloat32), torch::zeros({C, D}), torch::zeros({C})};
  }
  auto y = labels.to(torch::kInt64).unsqueeze(1);                        // [b, 1]
  auto log_probs = torch::log_softmax(classifier_.logits(features), 1);  // [b, C]
  auto loss_sum = -log_probs.gather(1, y).sum();
  auto dz = log_probs.exp();  // [b, C]
  dz.scatter_add_(1, y, torch::full({y.size(0), 1}, -1.0f));
  return {loss_sum, dz.t().mm(features), dz.sum(0)};
}

void LinearProbeTrainer::apply(const torch::Tensor& weight_grad, const torch::Tensor& bias_grad) {
  classifier_.weight().mutable_grad() = weight_grad;
  classifier_.bias().mutable_grad() = bias_grad;
  sgd_.step(schedule_.at(iteration_));
  ++iteration_;
}

double LinearProbeTrainer::step_on_replicated(const torch::Tensor& features,
                                              const torch::Tensor& labels,
                                              const std::vector<int64_t>& indices) {
  torch::NoGradGuard no_grad;
  check_features_labels(features, labels, classifier_.in_dim(), "step_on_replicated");
  const int64_t B = static_cast<int64_t>(indices.size());
  if (B == 0) throw std::invalid_argument("step_on_replicated: empty batch");
  const int64_t C = classifier_.num_classes();
  const int64_t D = classifier_.in_dim();
  const int64_t W = comm_.world_size();
  const int64_t r = comm_.rank();

  // Fixed chunks of the global batch; rank r owns the contiguous chunk range [k0, k1).
  const int64_t num_chunks = (B + config_.chunk_size - 1) / config_.chunk_size;
  const int64_t k0 = num_chunks * r / W;
  const int64_t k1 = num_chunks * (r + 1) / W;
  const int64_t row = 1 + C * D + C;  // loss sum | dW | db
  auto mine = torch::empty({k1 - k0, row}, torch::kFloat32);
  auto index_tensor = torch::tensor(indices, torch::kInt64);
  for (int64_t k = k0; k < k1; ++k) {
    const int64_t begin = k * config_.chunk_size;
    const int64_t end = std::min(B, begin + config_.chunk_size);
    auto idx = index_tensor.slice(0, begin, end);
    auto sums = grad_sums(features.index_select(0, idx), labels.index_select(0, idx));
    mine[k - k0] = torch::cat(
        {sums.loss_sum.reshape({1}), sums.weight.reshape({-1}), sums.bias.reshape({-1})});
  }

  // Every rank adds the same rows in the same (chunk) order.
  auto all = comm_.all_gather_rows(mine);  // [num_chunks, row]
  if (all.size(0) != num_chunks) {
    throw std::runtime_error("step_on_replicated: gathered " + std::to_string(all.size(0)) +
                             " chunks, expected " + std::to_string(num_chunks));
  }
  auto total = all[0].clone();
  for (int64_t k = 1; k < num_chunks; ++k) total.add_(all[k]);
  total.div_(static_cast<double>(B));

  apply(total.slice(0, 1, 1 + C * D).reshape({C, D}), total.slice(0, 1 + C * D).clone());
  return total[0].item<double>();
}

double LinearProbeTrainer::step_on_local_batch(const torch::Tensor& features,
                                               const torch::Tensor& labels) {
  torch::NoGradGuard no_grad;
  check_features_labels(features, labels, classifier_.in_dim(), "step_on_local_batch");
  const int64_t C = classifier_.num_classes();
  const int64_t D = classifier_.in_dim();
  auto sums = grad_sums(features, labels);
  // count | loss sum | dW | db, summed over ranks in one call.
  auto packed =
      torch::cat({torch::tensor({static_cast<float>(features.size(0))}), sums.loss_sum.reshape({1}),
                  sums.weight.reshape({-1}), sums.bias.reshape({-1})})
          .contiguous();
  comm_.all_reduce_sum(packed);
  const double count = packed[0].item<double>();
  if (count < 1) throw std::runtime_error("step_on_local_batch: no samples on any rank");
  auto total = packed.slice(0, 1).div(count);
  apply(total.slice(0, 1, 1 + C * D).reshape({C, D}), total.slice(0, 1 + C * D).clone());
  return total[0].item<double>();
}

std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  shuffle_with_key(order.begin(), order.end(),
                   hash_key({seed, kBatchOrderStream, static_cast<uint64_t>(epoch)}));
  return order;
}

void train_linear_on_features(LinearClassifier& classifier, const torch::Tensor& features,
                              const torch::Tensor& labels, const LinearProbeConfig& config,
                              Communicator& comm,
                              const std::function<void(int64_t, double, double)>& on_epoch) {
  const int64_t N = features.size(0);
  const int64_t B = config.total_batch_size;
  if (B < 1 || N < B) {
    throw std::invalid_argument("train_linear_on_features: total batch size " + std::to_string(B) +
                                " needs at least that many training " + "samples, have " +
                                std::to_string(N));
  }
  const int64_t iters_per_epoch = N / B;  // the last partial batch of an epoch is dropped
  LinearProbeTrainer trainer(classifier, config, iters_per_epoch, comm);
  for (int64_t epoch = 1; epoch <= config.epochs; ++epoch) {
    const auto order = epoch_permutation(N, config.seed, epoch);
    double loss_sum = 0.0;
    const double lr = trainer.current_lr();
    for (int64_t it = 0; it < iters_per_epoch; ++it) {
      std::vector<int64_t> batch(order.begin() + it * B, order.begin() + (it + 1) * B);
      loss_sum += trainer.step_on_replicated(features, labels, batch);
    }
    if (on_epoch) on_epoch(epoch, loss_sum / static_cast<double>(iters_per_epoch), lr);
  }
}

}  // namespace pic
