#pragma once
// The collective side of checkpoint I/O, shared by checkpoint_save.cpp and
// checkpoint_load.cpp. Internal to pic_train.
//
// Every HDF5 call that creates objects, writes attributes or moves data in collective mode
// is made by all ranks in the same order with the same arguments. Before any of them the
// ranks check that they agree on names, shapes and dtypes, and every error found by one
// rank is turned into the same exception on all of them, so a bad caller or a bad file is
// a message, not a hang.
#include <hdf5.h>
#include <mpi.h>
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "data/hdf5_handles.h"
#include "train/checkpoint_layout.h"

namespace pic {

// Largest byte count of one HDF5 call (set_checkpoint_transfer_limit).
int64_t checkpoint_transfer_limit();

// Moves `count` rows between tensor rows [mem_row, mem_row + count) and file rows
// [file_row, file_row + count) of `dataset`, in collective calls of at most
// checkpoint_transfer_limit() bytes. `count` may differ per rank (0 = take part without
// data). A 0-dim tensor is one "row" of one element (scalar dataspace).
void transfer_rows(hid_t dataset, const torch::Tensor& tensor, int64_t mem_row, int64_t file_row,
                   int64_t count, bool write, MPI_Comm comm, const std::string& what);

// A file access property list for the MPI-IO driver, format 1.8 or later.
H5Id open_mpi_file_access(MPI_Comm comm);

// Throws (on every rank) unless every rank passed the same names, shapes and dtypes.
void check_ranks_agree(const std::vector<CheckpointEntry>& entries, const ShardedRows& rows,
                       MPI_Comm comm, const std::string& what);

// One rank's error, if any (empty text: none).
struct RankError {
  std::string text;
  bool damaged = false;  // the file is unusable (CheckpointDamaged), not the caller
};

// Collective. Returns when no rank failed; otherwise every rank throws the lowest failing
// rank's error: CheckpointDamaged when it was damage, else std::runtime_error("rank R: ...").
void agree_on_checkpoint_error(MPI_Comm comm, const RankError& error);

}  // namespace pic
