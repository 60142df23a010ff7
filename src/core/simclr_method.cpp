#include "core/simclr_method.h"

#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/batch_norm.h"
#include "core/contrastive_losses.h"

namespace pic {

SimclrMethod::SimclrMethod(ResNet encoder, SimclrConfig config, Communicator& comm)
    : encoder_(std::move(encoder)), config_(config), comm_(comm) {
  if (!encoder_) throw std::invalid_argument("SimclrMethod: no encoder");
  synchronise_batch_norm(*encoder_, &comm_);
}

double SimclrMethod::forward_backward(const CropBatch& batch, int64_t /*step*/) {
  const int64_t b = two_view_images(batch, "SimCLR");
  const torch::Tensor features = encoder_->forward(batch.groups[0]);
  const torch::Tensor f1 = features.slice(0, 0, b);
  const torch::Tensor f2 = features.slice(0, b, 2 * b);
  const std::vector<int64_t> counts = comm_.all_gather(b);
  const int64_t offset = std::accumulate(counts.begin(), counts.begin() + comm_.rank(), int64_t{0});
  const torch::Tensor all_f1 = comm_.all_gather_rows(f1.detach().contiguous());
  const torch::Tensor all_f2 = comm_.all_gather_rows(f2.detach().contiguous());
  MethodOutput out = simclr_loss(f1, f2, all_f1, all_f2, offset, config_.temperature);
  out.loss.backward();
  // Rows per rank may differ: weight each rank's mean by its share of the rows.
  const double global_rows = static_cast<double>(all_f1.size(0));
  return comm_.all_reduce_sum(out.loss.item<double>() * static_cast<double>(b) / global_rows);
}

}  // namespace pic
