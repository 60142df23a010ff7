#include "train/checkpoint_transfer.h"

#include <algorithm>
#include <functional>
#include <stdexcept>

#include "train/checkpoint_read.h"

namespace pic {
namespace {

int64_t g_transfer_limit_bytes = int64_t{1} << 30;

}  // namespace

void set_checkpoint_transfer_limit(int64_t bytes) {
  if (bytes < 1) throw std::invalid_argument("checkpoint transfer limit must be >= 1 byte");
  g_transfer_limit_bytes = bytes;
}

int64_t checkpoint_transfer_limit() { return g_transfer_limit_bytes; }

void transfer_rows(hid_t dataset, const torch::Tensor& tensor, int64_t mem_row, int64_t file_row,
                   int64_t count, bool write, MPI_Comm comm, const std::string& what) {
  H5Id file_space = h5_space(H5Dget_space(dataset), "get the dataspace of " + what);
  const int ndims = H5Sget_simple_extent_ndims(file_space);
  std::vector<hsize_t> dims(static_cast<size_t>(std::max(ndims, 0)));
  if (ndims > 0) H5Sget_simple_extent_dims(file_space, dims.data(), nullptr);

  int64_t row_elems = 1;
  for (int i = 1; i < ndims; ++i) row_elems *= static_cast<int64_t>(dims[static_cast<size_t>(i)]);
  const int64_t row_bytes = std::max<int64_t>(row_elems * tensor.element_size(), 1);
  if (row_bytes > g_transfer_limit_bytes && row_elems > 0 && ndims > 1 &&
      row_bytes > (int64_t{1} << 30)) {
    throw std::runtime_error("checkpoint: one row of " + what + " exceeds 1 GiB; unsupported");
  }
  const int64_t rows_per_call = std::max<int64_t>(1, g_transfer_limit_bytes / row_bytes);

  // All ranks make the same number of calls: the most any rank needs.
  int64_t calls = row_elems == 0 ? 0 : (count + rows_per_call - 1) / rows_per_call;
  MPI_Allreduce(MPI_IN_PLACE, &calls, 1, MPI_INT64_T, MPI_MAX, comm);

  H5Id transfer = h5_plist(H5Pcreate(H5P_DATASET_XFER), "create a transfer property list");
  h5_check(H5Pset_dxpl_mpio(transfer, H5FD_MPIO_COLLECTIVE), "request collective I/O");
  const hid_t memory_type = hdf5_memory_type(tensor.scalar_type());
  static char no_data = 0;  // a valid address for ranks that move nothing
  auto* bytes = tensor.numel() > 0 ? static_cast<char*>(tensor.data_ptr()) : &no_data;

  for (int64_t call = 0; call < calls; ++call) {
    const int64_t first = call * rows_per_call;
    const int64_t rows = std::clamp<int64_t>(count - first, 0, rows_per_call);
    const hsize_t memory_elems = static_cast<hsize_t>(std::max<int64_t>(rows * row_elems, 1));
    H5Id memory_space = h5_space(H5Screate_simple(1, &memory_elems, nullptr),
                                 "create a memory dataspace for " + what);
    if (rows == 0) {
      h5_check(H5Sselect_none(file_space), "select nothing in " + what);
      h5_check(H5Sselect_none(memory_space), "select nothing in memory for " + what);
    } else if (ndims == 0) {
      h5_check(H5Sselect_all(file_space), "select " + what);
    } else {
      std::vector<hsize_t> start(dims.size(), 0), extent = dims;
      start[0] = static_cast<hsize_t>(file_row + first);
      extent[0] = static_cast<hsize_t>(rows);
      h5_check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start.data(), nullptr, extent.data(),
                                   nullptr),
               "select rows of " + what);
    }
    char* buffer = rows == 0 ? &no_data : bytes + (mem_row + first) * row_bytes;
    if (write) {
      h5_check(H5Dwrite(dataset, memory_type, memory_space, file_space, transfer, buffer),
               "write " + what);
    } else {
      h5_check(H5Dread(dataset, memory_type, memory_space, file_space, transfer, buffer),
               "read " + what);
    }
  }
}

H5Id open_mpi_file_access(MPI_Comm comm) {
  H5Id access = h5_plist(H5Pcreate(H5P_FILE_ACCESS), "create a file access property list");
  h5_check(H5Pset_fapl_mpio(access, comm, MPI_INFO_NULL), "use the MPI-IO driver");
  // Format 1.8 or later: compact groups and large attributes (a long config JSON).
  h5_check(H5Pset_libver_bounds(access, H5F_LIBVER_V18, H5F_LIBVER_LATEST),
           "set the file format bounds");
  return access;
}

void check_ranks_agree(const std::vector<CheckpointEntry>& entries, const ShardedRows& rows,
                       MPI_Comm comm, const std::string& what) {
  std::string description = std::to_string(rows.global_rows) + ";";
  for (const CheckpointEntry& e : entries) {
    description += e.path + (e.instance_level ? "*" : "") + c10::toString(e.tensor.scalar_type()) +
                   shape_text(global_shape(e, rows)) + ";";
  }
  int64_t hash = static_cast<int64_t>(std::hash<std::string>{}(description) >> 1);
  int64_t low = hash, high = hash;
  MPI_Allreduce(MPI_IN_PLACE, &low, 1, MPI_INT64_T, MPI_MIN, comm);
  MPI_Allreduce(MPI_IN_PLACE, &high, 1, MPI_INT64_T, MPI_MAX, comm);
  if (low != high) {
    throw std::runtime_error(what +
                             ": ranks passed different tensor names, shapes or dtypes "
                             "(every rank must pass the same model)");
  }
}

void agree_on_checkpoint_error(MPI_Comm comm, const RankError& error) {
  int rank = 0, world = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &world);

  // The lowest failing rank speaks for all.
  int first_failing = error.text.empty() ? world : rank;
  MPI_Allreduce(MPI_IN_PLACE, &first_failing, 1, MPI_INT, MPI_MIN, comm);
  if (first_failing == world) return;

  std::string text = rank == first_failing ? error.text : std::string();
  int64_t header[2] = {static_cast<int64_t>(text.size()), error.damaged ? 1 : 0};
  MPI_Bcast(header, 2, MPI_INT64_T, first_failing, comm);
  text.resize(static_cast<size_t>(header[0]));
  MPI_Bcast(&text[0], static_cast<int>(header[0]), MPI_CHAR, first_failing, comm);
  if (header[1] != 0) throw CheckpointDamaged(text);
  throw std::runtime_error("rank " + std::to_string(first_failing) + ": " + text);
}

}  // namespace pic
