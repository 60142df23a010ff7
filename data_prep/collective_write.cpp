#include "collective_write.h"

#include <algorithm>

#include "comm/mpi_job.h"
#include "data/hdf5_handles.h"

namespace pic::prep {

void write_range_collectively(hid_t dataset, hid_t memory_type, size_t element_size,
                              uint64_t file_start, uint64_t count, const void* data, MPI_Comm comm,
                              const std::string& what, uint64_t max_call_bytes) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  const uint64_t per_call = std::max<uint64_t>(1, max_call_bytes / element_size);

  // Every rank makes the same number of calls: the most any rank needs.
  uint64_t calls = (count + per_call - 1) / per_call;
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &calls, 1, MPI_UINT64_T, MPI_MAX, comm), "MPI_Allreduce",
            rank);

  H5Id transfer = h5_plist(H5Pcreate(H5P_DATASET_XFER), "create a transfer property list");
  h5_check(H5Pset_dxpl_mpio(transfer, H5FD_MPIO_COLLECTIVE), "request collective I/O");
  H5Id file_space = h5_space(H5Dget_space(dataset), "get the dataspace of " + what);
  static const char no_data = 0;  // a valid address for ranks that write nothing
  const char* bytes = static_cast<const char*>(data);

  for (uint64_t call = 0, done = 0; call < calls; ++call) {
    const hsize_t piece = std::min(per_call, count - done);
    const hsize_t memory_elements = std::max<hsize_t>(piece, 1);
    H5Id memory_space = h5_space(H5Screate_simple(1, &memory_elements, nullptr),
                                 "create a memory dataspace for " + what);
    if (piece == 0) {
      h5_check(H5Sselect_none(file_space), "select nothing in " + what);
      h5_check(H5Sselect_none(memory_space), "select nothing in memory for " + what);
    } else {
      const hsize_t start = file_start + done;
      h5_check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, &start, nullptr, &piece, nullptr),
               "select elements [" + std::to_string(start) + ", " + std::to_string(start + piece) +
                   ") of " + what);
    }
    const char* buffer = piece == 0 ? &no_data : bytes + done * element_size;
    h5_check(H5Dwrite(dataset, memory_type, memory_space, file_space, transfer, buffer),
             "write " + what + " (disk full?)");
    done += piece;
  }
}

}  // namespace pic::prep
