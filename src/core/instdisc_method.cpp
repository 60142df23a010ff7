#include "core/instdisc_method.h"

#include <stdexcept>
#include <string>
#include <utility>

#include "core/contrastive_losses.h"
#include "core/counter_rng.h"
#include "core/memory_bank_softmax.h"

namespace pic {
namespace {

constexpr uint64_t kBankInitStream = 0x42414e4b494e4954ULL;  // "BANKINIT"

}  // namespace

torch::Tensor initial_memory_bank(uint64_t seed, int64_t begin, int64_t end, int64_t dim) {
  torch::Tensor rows = torch::empty({end - begin, dim});
  float* out = rows.data_ptr<float>();
  for (int64_t r = begin; r < end; ++r) {
    CounterRng rng(hash_key({seed, kBankInitStream, static_cast<uint64_t>(r)}));
    for (int64_t d = 0; d < dim; ++d) *out++ = static_cast<float>(rng.normal());
  }
  return l2_normalize(rows);
}

InstDiscMethod::InstDiscMethod(ResNet encoder, InstDiscConfig config, Communicator& comm)
    : encoder_(std::move(encoder)), config_(config), comm_(comm) {
  if (!encoder_) throw std::invalid_argument("InstDiscMethod: no encoder");
  if (config_.num_negative < 1) {
    throw std::invalid_argument("InstDiscMethod: --contrast-num-negative must be >= 1");
  }
  // In the encoder's precision (float32; tests also run float64).
  memory_ = initial_memory_bank(config_.seed, config_.rows.begin, config_.rows.end,
                                encoder_->config().feature_dim)
                .to(encoder_->parameters().front().scalar_type());
}

double InstDiscMethod::forward_backward(const CropBatch& batch, int64_t step) {
  if (batch.groups.size() != 1) {
    throw std::invalid_argument("InstDisc takes one crop per image (not --aug MultiCrop)");
  }
  const torch::Tensor& ids = batch.instance_ids;
  if (ids.numel() > 0 && (ids.min().item<int64_t>() < config_.rows.begin ||
                          ids.max().item<int64_t>() >= config_.rows.end)) {
    throw std::out_of_range("InstDisc: rank " + std::to_string(comm_.rank()) +
                            " got an instance id outside its bank rows");
  }
  const torch::Tensor features = l2_normalize(encoder_->forward(batch.groups[0]));

  MemoryBankSoftmaxInput input;
  input.features = features.detach();
  input.sample_idx =
      draw_memory_bank_columns(comm_.all_gather_rows(ids.contiguous()), config_.num_instances,
                               config_.num_negative, config_.seed, step);
  input.bank = memory_;
  input.row_begin = config_.rows.begin;
  input.temperature = config_.temperature;
  input.chunk_pairs = config_.chunk_pairs;
  const MemoryBankSoftmaxResult result = memory_bank_softmax(input, comm_);

  torch::autograd::backward({features},
                            {result.grad_features * static_cast<double>(comm_.world_size())});
  last_features_ = features.detach();
  last_ids_ = ids;
  return result.loss;
}

void InstDiscMethod::after_step(double /*lr*/, int64_t /*step*/) {
  if (!last_features_.defined()) throw std::logic_error("InstDisc: update before forward");
  update_memory_bank(memory_, last_features_, last_ids_ - config_.rows.begin, config_.momentum);
  last_features_ = torch::Tensor();
}

MethodTensors InstDiscMethod::extra_tensors() {
  MethodTensors tensors;
  tensors.model.emplace_back("memory", memory_);
  tensors.instance_level = {"memory"};
  return tensors;
}

}  // namespace pic
