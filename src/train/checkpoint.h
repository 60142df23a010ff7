#pragma once
// Collective parallel-HDF5 checkpoints (DESIGN.md decision 3, STYLE.md point 8).
// The file layout is documented in docs/checkpoint-format.md; in short:
//   /model/<name>                 every parameter and buffer ("encoder.conv1.weight")
//   /optimizer/momentum/<name>    SGD momentum, same names
//   /state/<name>                 trainer state tensors (sampler position, RNG counters)
//   every dataset                 attribute crc32: CRC-32 of its bytes in dataset order
//   root attributes               format, format_version, step, epoch, images_seen,
//                                 world_size, seed, lr_scale, config (JSON),
//                                 complete = 1 written last
// Instance-level tensors (PIC's classifier and its momentum: [N, D]) are ONE global dataset
// in dataset order; each rank writes only its rows [range.begin, range.end) in one
// collective write, so a file written by W ranks loads on any other number of ranks. Their
// checksum is one CRC as well: each rank's part is combined in row order
// (checkpoint_checksum.h), so it does not depend on W either. Everything else is replicated
// and written once, from rank 0's selection.
//
// Atomicity (checkpoint_files.h): all ranks write <dir>/.ckpt_XXXXXXXX.h5.tmp; after the
// collective close rank 0 fsyncs it, renames it to ckpt_XXXXXXXX.h5 (the step, 8 digits)
// and then atomically replaces the pointer file <dir>/latest. A crash or a failed write at
// any point leaves the previous pointer and checkpoint intact.
//
// The code: checkpoint_save.cpp and checkpoint_load.cpp (collective), checkpoint_read.h
// (serial readers for tools), checkpoint_files.h (names, pointer, finding, retention),
// checkpoint_layout.h and checkpoint_transfer.h (shared internals), checkpoint_checksum.h.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "core/communicator.h"
#include "core/sampler.h"  // ShardRange
#include "core/sgd.h"      // NamedTensors
#include "train/checkpoint_files.h"
#include "train/checkpoint_read.h"

namespace pic {

constexpr const char* kCheckpointFormat = "pic-checkpoint";
// 2: per-dataset crc32 and the root attribute images_seen. Version 1 files (no checksums)
// still load, unverified (LoadedCheckpoint::format_version says so).
constexpr int64_t kCheckpointFormatVersion = 2;
constexpr int64_t kOldestReadableCheckpointFormatVersion = 1;

struct CheckpointState {
  int64_t step = 0;   // optimizer steps done
  int64_t epoch = 0;  // (window) epochs done
  // Images trained on so far over all ranks: the sum of the global batches (batch x ranks)
  // of every step done, resumes on other rank counts included. The rank-count-independent
  // position of the run (train/resume_position.h); -1 when unknown (format_version 1).
  int64_t images_seen = 0;
  uint64_t seed = 0;  // the run's seed
  // Factor on the schedule's learning rate (1 = as planned), lowered by the trainer after
  // non-finite losses. Optional in the file; a file without it loads as 1.
  double lr_scale = 1.0;
  std::string config_json;  // the resolved options
};

// Which rows of an instance-level tensor this rank owns.
struct ShardedRows {
  int64_t global_rows = 0;  // N
  ShardRange range;         // this rank's rows [begin, end) in dataset order
};

// What a checkpoint holds. Names must not contain '/'.
struct CheckpointTensors {
  NamedTensors model;     // -> /model/<name>
  NamedTensors momentum;  // -> /optimizer/momentum/<name>
  NamedTensors state;     // -> /state/<name>, replicated (rank 0's values are written)
  // Names (in model and momentum) of instance-level tensors: global shape [N, ...]. In
  // memory a rank holds either all N rows (the replicated classifier of this version) or
  // only its range.size() rows (a sharded head); both save the same global dataset.
  std::set<std::string> instance_level;
};

// How load_checkpoint fills instance-level tensors.
enum class InstanceRows {
  kMine,  // the tensor is [range.size(), ...]: read only this rank's rows
  kAll,   // the tensor is [N, ...]: read every row (replicated classifier)
};

struct LoadedCheckpoint {
  std::string path;
  CheckpointState state;
  int64_t saved_world_size = 0;
  int64_t format_version = 0;  // 1: no checksums were there to verify
};

// Collective over `comm` (must be the MPI communicator). Writes <dir>/ckpt_<step>.h5
// atomically and points <dir>/latest at it; returns the final path. `state` must be the
// same on every rank (checked).
std::string save_checkpoint(const std::string& dir, Communicator& comm,
                            const CheckpointTensors& tensors, const ShardedRows& rows,
                            const CheckpointState& state);

// Collective. Fills every tensor of `tensors` in place (they must be contiguous CPU tensors
// of the right shape and dtype) and verifies every dataset's checksum. A missing,
// unexpected, mis-shaped or mis-typed tensor is an error listing the names; a damaged file
// throws CheckpointDamaged naming the file and every damaged dataset (the tensors may then
// hold some of its bytes: load another checkpoint or stop). Every rank throws the same.
LoadedCheckpoint load_checkpoint(const std::string& path, Communicator& comm,
                                 const CheckpointTensors& tensors, const ShardedRows& rows,
                                 InstanceRows mode);

// Largest byte count moved by one HDF5 read/write call (default 1 GiB; HDF5 1.10's MPI-IO
// driver fails at 2 GiB). Tests lower it to exercise the split; must be >= 1.
void set_checkpoint_transfer_limit(int64_t bytes);

// Called on every rank after each dataset of a checkpoint has been written, with its path
// ("model/encoder.conv1.weight"); empty = none. Tests use it to make a writer fail or die
// midway. Not for production use.
void set_checkpoint_write_observer(std::function<void(const std::string&)> observer);

}  // namespace pic
