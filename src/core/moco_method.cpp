#include "core/moco_method.h"

#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/contrastive_losses.h"
#include "core/counter_rng.h"

namespace pic {
namespace {

constexpr uint64_t kShuffleStream = 0x53485546464c45ULL;  // "SHUFFLE"
constexpr uint64_t kQueueStream = 0x5155455545ULL;        // "QUEUE"

ResNet copy_of(const ResNet& source) {
  ResNet copy(source->config());
  torch::NoGradGuard no_grad;
  const auto from_params = source->parameters();
  auto to_params = copy->parameters();
  for (size_t i = 0; i < to_params.size(); ++i) {
    to_params[i].copy_(from_params[i]);
    to_params[i].set_requires_grad(false);
  }
  const auto from_buffers = source->buffers();
  auto to_buffers = copy->buffers();
  for (size_t i = 0; i < to_buffers.size(); ++i) to_buffers[i].copy_(from_buffers[i]);
  return copy;
}

// Columns of unit-length random keys, a pure function of (seed, column).
torch::Tensor initial_queue(uint64_t seed, int64_t dim, int64_t size) {
  torch::Tensor queue = torch::empty({dim, size});
  auto q = queue.accessor<float, 2>();
  for (int64_t k = 0; k < size; ++k) {
    CounterRng rng(hash_key({seed, kQueueStream, static_cast<uint64_t>(k)}));
    for (int64_t d = 0; d < dim; ++d) q[d][k] = static_cast<float>(rng.normal());
  }
  return l2_normalize(queue, 0);
}

}  // namespace

std::vector<int64_t> moco_shuffle_order(uint64_t seed, int64_t step, int64_t global_batch) {
  std::vector<int64_t> order(static_cast<size_t>(global_batch));
  std::iota(order.begin(), order.end(), 0);
  shuffle_with_key(order.begin(), order.end(),
                   hash_key({seed, kShuffleStream, static_cast<uint64_t>(step)}));
  return order;
}

MocoMethod::MocoMethod(ResNet encoder, MocoConfig config, Communicator& comm)
    : encoder_(std::move(encoder)), config_(config), comm_(comm) {
  if (!encoder_) throw std::invalid_argument("MocoMethod: no encoder");
  if (config_.queue_size < 1) throw std::invalid_argument("MocoMethod: queue size must be >= 1");
  key_encoder_ = copy_of(encoder_);
  key_encoder_->train();  // keys always use batch statistics (shuffled across ranks)
  queue_ = initial_queue(config_.seed, encoder_->config().feature_dim, config_.queue_size);
  queue_ptr_ = torch::zeros({1}, torch::kLong);
}

std::pair<torch::Tensor, torch::Tensor> MocoMethod::shuffled_keys(const torch::Tensor& images,
                                                                  int64_t step) {
  torch::NoGradGuard no_grad;
  const int64_t b = images.size(0);
  const std::vector<int64_t> counts = comm_.all_gather(b);
  const int64_t offset = std::accumulate(counts.begin(), counts.begin() + comm_.rank(), int64_t{0});
  const torch::Tensor all_images = comm_.all_gather_rows(images.contiguous());
  const int64_t global_batch = all_images.size(0);

  const torch::Tensor permutation =
      torch::tensor(moco_shuffle_order(config_.seed, step, global_batch), torch::kLong);

  // Position j of the shuffled batch holds sample permutation[j]; this rank encodes
  // positions [offset, offset + b).
  const torch::Tensor mine = permutation.slice(0, offset, offset + b);
  const torch::Tensor keys = l2_normalize(key_encoder_->forward(all_images.index_select(0, mine)));
  const torch::Tensor shuffled = comm_.all_gather_rows(keys.contiguous());
  torch::Tensor all_keys = torch::empty_like(shuffled);
  all_keys.index_copy_(0, permutation, shuffled);
  return {all_keys.slice(0, offset, offset + b), all_keys};
}

double MocoMethod::forward_backward(const CropBatch& batch, int64_t step) {
  const int64_t b = two_view_images(batch, "MoCo");
  const torch::Tensor query = encoder_->forward(batch.groups[0].slice(0, 0, b));
  auto [keys, all_keys] = shuffled_keys(batch.groups[0].slice(0, b, 2 * b), step);
  if (config_.queue_size < all_keys.size(0)) {
    throw std::invalid_argument("MoCo: the queue length " + std::to_string(config_.queue_size) +
                                " is shorter than the global batch " +
                                std::to_string(all_keys.size(0)));
  }
  MethodOutput out = moco_loss(query, keys, queue_, config_.temperature);
  out.loss.backward();
  // After backward: the queue was saved by the graph and must not change before it ran.
  queue_ptr_.fill_(enqueue_keys(queue_, all_keys, queue_ptr_.item<int64_t>()));
  // Rows per rank may differ: weight each rank's mean by its share of the global batch.
  return comm_.all_reduce_sum(out.loss.item<double>() * static_cast<double>(b) /
                              static_cast<double>(all_keys.size(0)));
}

void MocoMethod::after_step(double /*lr*/, int64_t /*step*/) {
  torch::NoGradGuard no_grad;
  const auto query = encoder_->parameters();
  auto key = key_encoder_->parameters();
  for (size_t i = 0; i < key.size(); ++i) {
    key[i].mul_(config_.momentum).add_(query[i], 1 - config_.momentum);
  }
}

MethodTensors MocoMethod::extra_tensors() {
  MethodTensors tensors;
  for (const auto& item : key_encoder_->named_parameters()) {
    tensors.model.emplace_back("encoder_k." + item.key(), item.value());
  }
  for (const auto& item : key_encoder_->named_buffers()) {
    tensors.model.emplace_back("encoder_k." + item.key(), item.value());
  }
  tensors.model.emplace_back("queue", queue_);
  tensors.model.emplace_back("queue_ptr", queue_ptr_);
  return tensors;
}

}  // namespace pic
