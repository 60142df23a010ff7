#pragma once
// What the training loop needs from a self-supervised method (PIC, InstDisc, MoCo, SimCLR),
// so that pretrainer.cpp never branches on the method's name. One step on every rank:
//   forward_backward  -> the encoder's gradients are in .grad, this rank's share of the
//                        global loss's gradient; the trainer averages them over ranks;
//   (trainer)         -> the encoder's optimizer step;
//   after_step        -> the method's own state moves: classifier rows, memory bank,
//                        key encoder and queue.
// A method's state beyond the encoder's parameters and buffers goes into checkpoints
// through extra_tensors(); instance-level tensors ([N, ...], this rank's rows in memory) are
// named there so the checkpoint writes one global dataset of them.
#include <torch/torch.h>

#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>

#include "core/method.h"  // CropBatch
#include "core/resnet.h"
#include "core/sgd.h"  // NamedTensors

namespace pic {

struct MethodTensors {
  NamedTensors model;                    // parameters, buffers and state (saved under /model)
  NamedTensors momentum;                 // optimizer momentum the method owns (/optimizer/momentum)
  std::set<std::string> instance_level;  // names above held as this rank's rows only
};

class TrainingMethod {
 public:
  virtual ~TrainingMethod() = default;

  // The encoder the trainer's optimizer updates and whose gradients it averages.
  virtual ResNet& encoder() = 0;

  // Collective. Leaves the encoder's gradients in .grad; returns the loss of the global batch
  // (identical on every rank).
  virtual double forward_backward(const CropBatch& batch, int64_t step) = 0;

  // After the encoder's optimizer step of step `step` with learning rate `lr`.
  virtual void after_step(double lr, int64_t step) = 0;

  // Everything beyond encoder.* that a checkpoint must hold. The tensors are the method's
  // own (loading writes into them).
  virtual MethodTensors extra_tensors() = 0;

  // Before a checkpoint of `steps_done` steps is written (collective; e.g. bring lazily
  // updated rows up to date), and after one was loaded.
  virtual void before_save(int64_t /*steps_done*/) {}
  virtual void after_load(int64_t /*steps_done*/) {}

  // How many crops of each image a batch must hold (2 for two-view methods).
  virtual int64_t views_per_image() const = 0;
};

// The image count b of a two-view batch (MoCo, SimCLR): groups[0] holds [view 0 of every
// image | view 1 of every image], 2b rows. Throws std::invalid_argument naming `method` for
// any other shape.
inline int64_t two_view_images(const CropBatch& batch, const char* method) {
  const int64_t images = batch.instance_ids.numel();
  const int64_t crops = batch.groups.size() == 1 ? batch.groups[0].size(0) : -1;
  if (crops != 2 * images) {
    throw std::invalid_argument(std::string(method) + " takes two crops of every image (got " +
                                std::to_string(crops) + " crops of " + std::to_string(images) +
                                " images)");
  }
  return images;
}

}  // namespace pic
