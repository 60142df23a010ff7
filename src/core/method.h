#pragma once
// A self-supervised method is a plug-in behind this interface, so that the training loop
// never branches on the method's name (PIC now; InstDisc, MoCo, SimCLR in a later issue).
#include <torch/torch.h>

#include <vector>

namespace pic {

// One training batch of one rank, as the encoder sees it.
struct CropBatch {
  // groups[0]: the large crops, [B * num_crop, 3, H, W], crop-major (crop 0 of every image,
  //            then crop 1, ...); they train the instance classifier.
  // groups[g], g >= 1: small crop g-1 of every image, [B, 3, h, w]; they see the classifier
  //            without gradient. The encoder runs once per group (BatchNorm statistics per
  //            group), as in the original.
  std::vector<torch::Tensor> groups;
  torch::Tensor instance_ids;  // [B] int64, global dataset indices (PIC's labels)
};

struct MethodOutput {
  torch::Tensor loss;    // scalar, mean over all rows of this rank
  torch::Tensor logits;  // [rows, classes], rows ordered as the groups are
  torch::Tensor labels;  // [rows] int64
};

class MethodImpl : public torch::nn::Module {
 public:
  virtual MethodOutput forward(const CropBatch& batch) = 0;
};

}  // namespace pic
