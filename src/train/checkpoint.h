#pragma once
// Collective parallel-HDF5 checkpoints (DESIGN.md decision 3, STYLE.md point 8).
// The file layout is documented in docs/checkpoint-format.md; in short:
//   /model/<name>                 every parameter and buffer ("encoder.conv1.weight")
//   /optimizer/momentum/<name>    SGD momentum, same names
//   /state/<name>                 trainer state tensors (sampler position, RNG counters)
//   root attributes               format, format_version, step, epoch, world_size, seed,
//                                 config (JSON), complete = 1 written last
// Instance-level tensors (PIC's classifier and its momentum: [N, D]) are ONE global dataset
// in dataset order; each rank writes only its rows [range.begin, range.end) in one
// collective write, so a file written by W ranks loads on any other number of ranks.
// Everything else is replicated and written once, from rank 0's selection.
//
// Atomicity: all ranks write <dir>/.ckpt_XXXXXXXX.h5.tmp; after the collective close rank 0
// fsyncs it, renames it to ckpt_XXXXXXXX.h5 (the step, 8 digits) and then atomically
// replaces the pointer file <dir>/latest (its text: the file name) via a temporary + rename.
// A crash at any point leaves the previous pointer and checkpoint intact.
#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "core/communicator.h"
#include "core/sampler.h"  // ShardRange
#include "core/sgd.h"      // NamedTensors

namespace pic {

constexpr const char* kCheckpointFormat = "pic-checkpoint";
constexpr int64_t kCheckpointFormatVersion = 1;

struct CheckpointState {
  int64_t step = 0;   // optimizer steps done
  int64_t epoch = 0;  // (window) epochs done
  uint64_t seed = 0;  // the run's seed
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
};

// "ckpt_00001234.h5" for step 1234.
std::string checkpoint_file_name(int64_t step);

// Collective over `comm` (must be the MPI communicator). Writes <dir>/ckpt_<step>.h5
// atomically and points <dir>/latest at it; returns the final path. `state` must be the
// same on every rank (checked).
std::string save_checkpoint(const std::string& dir, Communicator& comm,
                            const CheckpointTensors& tensors, const ShardedRows& rows,
                            const CheckpointState& state);

// Collective. Fills every tensor of `tensors` in place (they must be contiguous CPU tensors
// of the right shape and dtype). A missing, unexpected, mis-shaped or mis-typed tensor, or an
// incomplete file, is an error listing the names; every rank throws the same message.
LoadedCheckpoint load_checkpoint(const std::string& path, Communicator& comm,
                                 const CheckpointTensors& tensors, const ShardedRows& rows,
                                 InstanceRows mode);

// Serial (no MPI needed). The resolved options the checkpoint's run was started with (the
// root attribute `config`, JSON); throws naming the file when it cannot be read.
std::string read_checkpoint_config(const std::string& path);

// Serial (no MPI needed). Empty when `path` is a complete pic checkpoint, else the reason.
std::string checkpoint_incomplete_reason(const std::string& path);

struct LatestCheckpoint {
  std::string path;
  // Empty when the pointer file named a complete checkpoint; otherwise says why it was not
  // used and which file was chosen instead (the caller logs it from rank 0).
  std::string note;
};

// Serial. The checkpoint named by <dir>/latest if it exists and is complete; otherwise the
// complete ckpt_*.h5 with the highest step; nullopt if there is none.
std::optional<LatestCheckpoint> find_latest_checkpoint(const std::string& dir);

// Serial, plain (non-MPI) open: every dataset under `prefix` ("model/encoder." or
// "optimizer/momentum/"), the part up to the last '/' naming the group. Names are returned
// without the group ("encoder.conv1.weight"), sorted. Refuses an incomplete checkpoint.
NamedTensors read_checkpoint_tensors(const std::string& path, const std::string& prefix);

// Copies `source` into `target` by name (in place, no autograd). Every target name must be in
// source with the same shape; otherwise an error listing missing / mis-shaped names,
// prefixed by `context` (e.g. the checkpoint path).
void copy_tensors_by_name(const NamedTensors& source, const NamedTensors& target,
                          const std::string& context);

// Largest byte count moved by one HDF5 read/write call (default 1 GiB; HDF5 1.10's MPI-IO
// driver fails at 2 GiB). Tests lower it to exercise the split; must be >= 1.
void set_checkpoint_transfer_limit(int64_t bytes);

}  // namespace pic
