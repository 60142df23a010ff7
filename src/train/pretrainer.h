#pragma once
// The pre-training run of pic-pretrain: data-parallel PIC over MPI ranks.
//
// Per step, on every rank: the loader's batch for this step (decoded ahead on worker
// threads) -> encoder forward -> the sharded PIC head (core/pic_method.h: features
// all-gathered, softmax over the classifier rows each rank owns, feature gradients
// reduce-scattered back) -> encoder backward -> one all-reduce averaging the encoder's
// gradients -> SGD with the schedule's learning rate for this step, on the encoder and on
// this rank's active classifier rows. Every rank therefore holds the same encoder after
// each step, and the classifier rows of its own images. BatchNorm running statistics are
// not synchronised (as PyTorch DDP without SyncBN): each rank keeps its own, and
// checkpoints hold rank 0's. They do not influence training (train-mode BN uses batch
// statistics), only evaluation.
//
// Exactness: the model is built from torch::manual_seed(seed) on every rank and then
// broadcast from rank 0; the batches of step t are a pure function of (seed, rank, t); so a
// run resumed from a checkpoint at step t, with the same ranks and threads, logs the same
// losses as one that never stopped.
//
// Stopping: see train/stop_signal.h (USR1/TERM: checkpoint and exit with
// kExitStoppedToResume; USR2: checkpoint and continue). The requests of all ranks are combined
// with an all-reduce between steps.
#include "core/communicator.h"
#include "train/exit_status.h"
#include "train/pretrain_options.h"

namespace pic {

// Collective. Returns the process exit code: 0 after the last step, kExitStoppedToResume
// after a stop request has been checkpointed. Throws on any error (run_mpi_main turns that
// into a job-wide abort).
int run_pretrain(const PretrainOptions& options, Communicator& comm);

}  // namespace pic
