#pragma once
// Parametric Instance Classification (Cao et al., 2020): every image is its own class.
// Features and classifier rows are L2-normalised; logits = cos(f, w_i) / temperature;
// the label of an image is its dataset index. Multi-crop: the large-crop group trains the
// classifier, the small-crop groups see a copy of it that receives no gradient; the loss is
// the mean cross-entropy over all crops.
//
// This file is the dense, single-process form: the whole classifier `sim_matrix` [N, D] in
// one module, the loss by autograd. It is the reference the reference vectors are checked
// against (resnet18_mlp.h5, heads.h5) and that the sharded trainer (pic_method.h, which
// holds only a rank's own rows) is tested against.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "core/method.h"
#include "core/resnet.h"

namespace pic {

// Loss and logits of PIC for already-computed features, one tensor per crop group
// (group 0 trains `classifier`, groups >= 1 use it detached). Exposed for heads.h5 tests.
MethodOutput pic_loss(const std::vector<torch::Tensor>& group_features,
                      const torch::Tensor& classifier, const torch::Tensor& instance_ids,
                      double temperature);

struct PicConfig {
  int64_t num_instances = 0;  // N, the dataset size
  double temperature = 0.2;
  uint64_t seed = 0;          // classifier rows are drawn from (seed, row index) only
};

// The whole PIC model: `encoder.*` (a ResNet with head) and `sim_matrix` [N, D].
class PicModelImpl : public MethodImpl {
 public:
  PicModelImpl(const ResNetConfig& encoder_config, const PicConfig& config);
  MethodOutput forward(const CropBatch& batch) override;

  ResNet encoder{nullptr};
  torch::Tensor sim_matrix;  // [N, D], N(0, 0.01) at construction, rows in dataset order

 private:
  PicConfig config_;
};
TORCH_MODULE(PicModel);

}  // namespace pic
