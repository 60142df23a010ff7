#pragma once
// One collective write into a 1-D HDF5 dataset of a file opened with the MPI-IO driver: each
// rank writes its own contiguous range of elements (or none) in the same call, as parallel
// HDF5 requires for filtered (compressed) datasets and as MPI-IO prefers for large ones.
#include <hdf5.h>
#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace pic::prep {

// HDF5 1.10's MPI-IO driver fails on 2 GiB or more in one call.
inline constexpr uint64_t kMaxBytesPerWriteCall = uint64_t{1} << 30;

// Collective: writes this rank's `count` elements at `data` (memory type `memory_type`,
// `element_size` bytes each) to elements [file_start, file_start + count) of `dataset`.
// Ranks with count 0 take part without data. Large ranges go in several calls of at most
// max_call_bytes per rank; every rank makes as many calls as the rank that needs the most.
// `what` names the dataset and file in error messages.
void write_range_collectively(hid_t dataset, hid_t memory_type, size_t element_size,
                              uint64_t file_start, uint64_t count, const void* data, MPI_Comm comm,
                              const std::string& what,
                              uint64_t max_call_bytes = kMaxBytesPerWriteCall);

}  // namespace pic::prep
