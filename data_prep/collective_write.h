#pragma once
// One collective write into a 1-D HDF5 dataset of a file opened with the MPI-IO driver: each
// rank writes its own ascending, disjoint blocks of elements (or none) in the same call, as
// parallel HDF5 requires for filtered (compressed) datasets. Underneath, ranks write
// uncompressed data directly (individual I/O); compressed chunks take HDF5's collective path.
#include <hdf5.h>
#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pic::prep {

// Elements [start, start + count) of a 1-D dataset.
struct FileBlock {
  uint64_t start = 0;
  uint64_t count = 0;
};

// Appends [start, start + count) to `blocks`, merged with the last block when they touch.
void append_block(std::vector<FileBlock>& blocks, uint64_t start, uint64_t count);

// HDF5 1.10's MPI-IO driver fails on 2 GiB or more in one call.
inline constexpr uint64_t kMaxBytesPerWriteCall = uint64_t{1} << 30;

// Collective: writes this rank's elements at `data` (memory type `memory_type`,
// `element_size` bytes each), the blocks' elements one after the other, to `blocks` of
// `dataset`. Ranks without blocks take part without data. Large writes go in several calls
// of at most max_call_bytes per rank; every rank makes as many calls as the rank that needs
// the most. `what` names the dataset and file in error messages.
void write_blocks_collectively(hid_t dataset, hid_t memory_type, size_t element_size,
                               const std::vector<FileBlock>& blocks, const void* data,
                               MPI_Comm comm, const std::string& what,
                               uint64_t max_call_bytes = kMaxBytesPerWriteCall);

}  // namespace pic::prep
