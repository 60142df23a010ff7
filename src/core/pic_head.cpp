#include "core/pic_head.h"

#include <stdexcept>
#include <string>

#include "core/contrastive_losses.h"  // l2_normalize
#include "core/instance_classifier.h"

namespace pic {

namespace F = torch::nn::functional;

MethodOutput pic_loss(const std::vector<torch::Tensor>& group_features,
                      const torch::Tensor& classifier, const torch::Tensor& instance_ids,
                      double temperature) {
  if (group_features.empty()) throw std::invalid_argument("pic_loss: no crop groups");
  if (instance_ids.dim() != 1 || instance_ids.scalar_type() != torch::kLong) {
    throw std::invalid_argument("pic_loss: instance_ids must be 1-D int64, got " +
                                c10::str(instance_ids.sizes(), " ", instance_ids.scalar_type()));
  }
  if (!(temperature > 0)) throw std::invalid_argument("pic_loss: temperature must be > 0");
  const int64_t batch = instance_ids.size(0);

  // [N, D] unit rows; the small-crop groups see the same values without gradient.
  const torch::Tensor weight = l2_normalize(classifier);
  const torch::Tensor weight_frozen = weight.detach();

  std::vector<torch::Tensor> logits, labels;
  for (size_t g = 0; g < group_features.size(); ++g) {
    const torch::Tensor& features = group_features[g];  // [B * crops, D], crop-major
    if (features.dim() != 2 || features.size(1) != classifier.size(1) || batch == 0 ||
        features.size(0) % batch != 0) {
      throw std::invalid_argument("pic_loss: crop group " + std::to_string(g) + " has features " +
                                  c10::str(features.sizes()) + "; expected [k * " +
                                  std::to_string(batch) + ", " +
                                  std::to_string(classifier.size(1)) + "]");
    }
    const torch::Tensor& w = g == 0 ? weight : weight_frozen;
    logits.push_back(l2_normalize(features).mm(w.t()) / temperature);  // [B * crops, N]
    labels.push_back(instance_ids.repeat({features.size(0) / batch}));
  }

  MethodOutput out;
  out.logits = torch::cat(logits, 0);
  out.labels = torch::cat(labels, 0);
  out.loss = F::cross_entropy(out.logits, out.labels);
  return out;
}

PicModelImpl::PicModelImpl(const ResNetConfig& encoder_config, const PicConfig& config)
    : config_(config) {
  if (config_.num_instances <= 0) {
    throw std::invalid_argument("PicModel: num_instances must be positive, got " +
                                std::to_string(config_.num_instances));
  }
  if (encoder_config.feature_dim <= 0) {
    throw std::invalid_argument("PicModel: the encoder needs a head (feature_dim > 0)");
  }
  encoder = register_module("encoder", ResNet(encoder_config));

  // Row i depends on (seed, i) only, so any rank count builds the same classifier.
  torch::Tensor rows =
      initial_classifier_rows(config_.seed, 0, config_.num_instances, encoder_config.feature_dim);
  sim_matrix = register_parameter("sim_matrix", rows);
}

MethodOutput PicModelImpl::forward(const CropBatch& batch) {
  if (batch.groups.empty()) throw std::invalid_argument("PicModel: the batch has no crop group");
  const torch::Tensor& ids = batch.instance_ids;
  if (ids.numel() > 0 &&
      (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= config_.num_instances)) {
    throw std::out_of_range("PicModel: instance id outside [0, " +
                            std::to_string(config_.num_instances) + ")");
  }
  // One encoder call per crop group: BatchNorm statistics are per group, as in the original.
  std::vector<torch::Tensor> features;
  features.reserve(batch.groups.size());
  for (const torch::Tensor& group : batch.groups) features.push_back(encoder->forward(group));
  return pic_loss(features, sim_matrix, ids, config_.temperature);
}

}  // namespace pic
