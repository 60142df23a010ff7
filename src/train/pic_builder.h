#pragma once
// Builds PIC for pic-pretrain from its options: the encoder (identical on every rank), this
// rank's classifier rows, and with --num-negative the per-step active set and the lazy
// catch-up table. Kept apart from the training loop (pretrainer.cpp).
#include <cstdint>
#include <memory>
#include <string>

#include "core/communicator.h"
#include "core/lr_schedule.h"
#include "core/pic_method.h"
#include "core/sgd.h"
#include "train/checkpoint.h"  // ShardedRows
#include "train/pretrain_options.h"
#include "train/training_plan.h"

namespace pic {

// Collective. Without --num-negative every row of
// this rank is in every step's softmax and the correction is irrelevant (nothing is missed).
// With --num-negative K each rank's softmax holds ceil(K / world) of its rows; the lazy
// correction gets the learning rate of every step of the run (64 bytes per step).
std::unique_ptr<PicMethod> build_pic_method(ResNet encoder, const PretrainOptions& options,
                                            const TrainingPlan& plan, const LrSchedule& schedule,
                                            const ShardedRows& rows, const SgdOptions& sgd,
                                            int64_t shard_size, int64_t min_shard,
                                            Communicator& comm);

// Collective. One log line: the classifier's size, rows and bytes per rank, and what a step's
// softmax touches.
std::string describe_head(const PretrainOptions& options, PicMethod& method, Communicator& comm);

}  // namespace pic
