#include "core/pic_method.h"

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/instance_softmax.h"

namespace pic {

PicMethod::PicMethod(ResNet encoder, std::unique_ptr<InstanceClassifier> classifier,
                     std::unique_ptr<NegativeSet> negatives, PicMethodConfig config,
                     Communicator& comm)
    : encoder_(std::move(encoder)),
      classifier_(std::move(classifier)),
      negatives_(std::move(negatives)),
      config_(config),
      comm_(comm) {
  if (!encoder_ || !classifier_) throw std::invalid_argument("PicMethod: encoder and classifier");
  all_rows_ = torch::arange(classifier_->config().rows.size(), torch::kLong);
}

torch::Tensor PicMethod::choose_active_rows(int64_t step) {
  if (!negatives_) return all_rows_;
  const std::vector<int64_t> rows = negatives_->rows_for_step(step);
  return torch::tensor(rows, torch::kLong);
}

double PicMethod::forward_backward(const CropBatch& batch, int64_t step) {
  if (batch.groups.empty()) throw std::invalid_argument("PicMethod: the batch has no crop group");
  const ShardRange& mine = classifier_->config().rows;
  const torch::Tensor& ids = batch.instance_ids;
  if (ids.numel() > 0 &&
      (ids.min().item<int64_t>() < mine.begin || ids.max().item<int64_t>() >= mine.end)) {
    throw std::out_of_range("PicMethod: rank " + std::to_string(comm_.rank()) +
                            " got an instance id outside its rows [" + std::to_string(mine.begin) +
                            ", " + std::to_string(mine.end) + ")");
  }

  std::vector<torch::Tensor> features;
  features.reserve(batch.groups.size());
  for (const torch::Tensor& group : batch.groups) features.push_back(encoder_->forward(group));

  active_local_ = choose_active_rows(step);
  InstanceSoftmaxInput input;
  input.group_features = features;
  input.instance_ids = ids;
  input.rows = classifier_->active_rows(active_local_, step);
  input.row_ids = active_local_ + mine.begin;
  input.temperature = config_.temperature;
  input.chunk_rows = config_.chunk_rows;
  InstanceSoftmaxResult result = instance_softmax_cross_entropy(input, comm_);
  grad_rows_ = std::move(result.grad_rows);

  const double world = static_cast<double>(comm_.world_size());
  std::vector<torch::Tensor> grads;
  for (torch::Tensor& g : result.grad_group_features) grads.push_back(g.mul(world));
  torch::autograd::backward(features, grads);
  return result.loss;
}

void PicMethod::update_classifier(double lr, int64_t step) {
  if (!grad_rows_.defined()) throw std::logic_error("PicMethod: update before forward_backward");
  classifier_->update(active_local_, grad_rows_, lr, step);
  grad_rows_ = torch::Tensor();
}

MethodTensors PicMethod::extra_tensors() {
  constexpr const char* kClassifierName = "sim_matrix";
  MethodTensors tensors;
  tensors.model.emplace_back(kClassifierName, classifier_->weight());
  tensors.momentum.emplace_back(kClassifierName, classifier_->momentum());
  tensors.instance_level = {kClassifierName};
  return tensors;
}

}  // namespace pic
