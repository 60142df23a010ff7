#include "collective_write.h"

#include <algorithm>

#include "comm/mpi_job.h"
#include "data/hdf5_handles.h"

namespace pic::prep {

void append_block(std::vector<FileBlock>& blocks, uint64_t start, uint64_t count) {
  if (count == 0) return;
  if (!blocks.empty() && blocks.back().start + blocks.back().count == start) {
    blocks.back().count += count;
  } else {
    blocks.push_back(FileBlock{start, count});
  }
}

void write_blocks_collectively(hid_t dataset, hid_t memory_type, size_t element_size,
                               const std::vector<FileBlock>& blocks, const void* data,
                               MPI_Comm comm, const std::string& what, uint64_t max_call_bytes) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  uint64_t count = 0;
  for (const FileBlock& block : blocks) count += block.count;
  const uint64_t per_call = std::max<uint64_t>(1, max_call_bytes / element_size);

  // Every rank makes the same number of calls: the most any rank needs.
  uint64_t calls = (count + per_call - 1) / per_call;
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &calls, 1, MPI_UINT64_T, MPI_MAX, comm), "MPI_Allreduce",
            rank);

  H5Id transfer = h5_plist(H5Pcreate(H5P_DATASET_XFER), "create a transfer property list");
  h5_check(H5Pset_dxpl_mpio(transfer, H5FD_MPIO_COLLECTIVE), "request collective I/O");
  // Uncompressed data: each rank writes its own blocks instead of MPI-IO's two-phase
  // exchange of the bytes between ranks. Compressed chunks need HDF5's collective path,
  // which gathers each chunk's pieces on the one rank that filters it.
  H5Id creation = h5_plist(H5Dget_create_plist(dataset), "get the properties of " + what);
  if (H5Pget_nfilters(creation) == 0) {
    h5_check(H5Pset_dxpl_mpio_collective_opt(transfer, H5FD_MPIO_INDIVIDUAL_IO),
             "request individual I/O for " + what);
  }
  H5Id file_space = h5_space(H5Dget_space(dataset), "get the dataspace of " + what);
  static const char no_data = 0;  // a valid address for ranks that write nothing
  const char* bytes = static_cast<const char*>(data);

  size_t block = 0;     // next block to select from
  uint64_t within = 0;  // elements of that block already written
  for (uint64_t call = 0, done = 0; call < calls; ++call) {
    // The next `piece` elements: the rest of the current block and whole blocks after it.
    const hsize_t piece = std::min(per_call, count - done);
    h5_check(H5Sselect_none(file_space), "select nothing in " + what);
    for (hsize_t taken = 0; taken < piece;) {
      const hsize_t start = blocks[block].start + within;
      const hsize_t length = std::min<hsize_t>(blocks[block].count - within, piece - taken);
      h5_check(H5Sselect_hyperslab(file_space, taken == 0 ? H5S_SELECT_SET : H5S_SELECT_OR, &start,
                                   nullptr, &length, nullptr),
               "select elements [" + std::to_string(start) + ", " + std::to_string(start + length) +
                   ") of " + what);
      taken += length;
      within += length;
      if (within == blocks[block].count) {
        ++block;
        within = 0;
      }
    }
    // Memory holds the elements in file order: the order HDF5 walks the selection in.
    const hsize_t memory_elements = std::max<hsize_t>(piece, 1);
    H5Id memory_space = h5_space(H5Screate_simple(1, &memory_elements, nullptr),
                                 "create a memory dataspace for " + what);
    if (piece == 0) {
      h5_check(H5Sselect_none(memory_space), "select nothing in memory for " + what);
    }
    const char* buffer = piece == 0 ? &no_data : bytes + done * element_size;
    h5_check(H5Dwrite(dataset, memory_type, memory_space, file_space, transfer, buffer),
             "write " + what + " (disk full?)");
    done += piece;
  }
}

}  // namespace pic::prep
