#pragma once
// Builds the method pic-pretrain trains (--model PIC, InstDisc, MoCo or SimCLR) and the
// encoder's optimizer (--optimizer sgd or lars) from the options, so that the training loop
// (pretrainer.cpp) holds only the TrainingMethod and Optimizer interfaces.
#include <cstdint>
#include <memory>
#include <string>

#include "core/communicator.h"
#include "core/lr_schedule.h"
#include "core/sgd.h"
#include "core/training_method.h"
#include "train/checkpoint.h"  // ShardedRows
#include "train/pretrain_options.h"
#include "train/training_plan.h"

namespace pic {

struct BuiltMethod {
  std::unique_ptr<TrainingMethod> method;
  std::string description;  // one or more log lines: what the method holds and where
};

// Collective: the encoder is built from --seed on every rank and then broadcast from rank 0
// anyway, so that a different LibTorch build on one node cannot give it other weights.
// `rows` is this rank's data shard, which is also its share of instance-level state (PIC's
// classifier, InstDisc's memory bank).
BuiltMethod build_method(const PretrainOptions& options, const TrainingPlan& plan,
                         const LrSchedule& schedule, const ShardedRows& rows, int64_t shard_size,
                         int64_t min_shard, Communicator& comm);

// SGD with momentum, or LARS around it, over `parameters`.
std::unique_ptr<Optimizer> build_optimizer(const PretrainOptions& options, NamedTensors parameters);

// The momentum and weight decay every SGD update in the run uses (encoder and PIC's rows).
SgdOptions sgd_options(const PretrainOptions& options);

}  // namespace pic
