// save_checkpoint: every rank writes one temporary file collectively, every dataset gets its
// checksum, and rank 0 publishes the file (checkpoint_files.h). See checkpoint.h.
#include <cstring>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <vector>

#include "comm/mpi_communicator.h"
#include "data/hdf5_attributes.h"
#include "train/checkpoint.h"
#include "train/checkpoint_checksum.h"
#include "train/checkpoint_layout.h"
#include "train/checkpoint_transfer.h"

namespace pic {
namespace {

namespace fs = std::filesystem;

std::function<void(const std::string&)> g_write_observer;

// Every rank must save the same state (the config is compared through a hash).
std::string state_mismatch(const CheckpointState& state, MPI_Comm comm) {
  int64_t lr_scale_bits = 0;
  std::memcpy(&lr_scale_bits, &state.lr_scale, sizeof lr_scale_bits);
  const int64_t config_hash =
      static_cast<int64_t>(std::hash<std::string>{}(state.config_json) >> 1);
  int64_t values[6] = {state.step,        state.epoch,   static_cast<int64_t>(state.seed),
                       state.images_seen, lr_scale_bits, config_hash};
  int64_t root_values[6];
  std::memcpy(root_values, values, sizeof values);
  MPI_Bcast(root_values, 6, MPI_INT64_T, 0, comm);
  if (std::memcmp(values, root_values, sizeof values) != 0) {
    return "save_checkpoint: step, epoch, seed, images_seen, lr_scale or config differ from "
           "rank 0's";
  }
  return "";
}

// Instance-level tensors hold N rows (replicated) or this rank's rows, inside [0, N).
std::string rows_mismatch(const std::vector<CheckpointEntry>& entries, const ShardedRows& rows) {
  if (rows.range.begin < 0 || rows.range.end > rows.global_rows ||
      rows.range.begin > rows.range.end) {
    return "save_checkpoint: row range [" + std::to_string(rows.range.begin) + ", " +
           std::to_string(rows.range.end) + ") is outside N = " + std::to_string(rows.global_rows);
  }
  for (const CheckpointEntry& e : entries) {
    if (!e.instance_level) continue;
    const int64_t local = e.tensor.dim() ? e.tensor.size(0) : -1;
    if (local != rows.global_rows && local != rows.range.size()) {
      return "save_checkpoint: instance-level tensor " + e.path + " has " + std::to_string(local) +
             " rows; expected N = " + std::to_string(rows.global_rows) +
             " (replicated) or this rank's " + std::to_string(rows.range.size()) + " rows";
    }
  }
  return "";
}

// Writes one dataset and its crc32 attribute (collective).
void write_dataset(hid_t file, hid_t creation, const CheckpointEntry& e, const ShardedRows& rows,
                   Communicator& comm, MPI_Comm mpi, const std::string& file_name) {
  const torch::Tensor data = e.tensor.detach().to(torch::kCPU).contiguous();
  const std::vector<int64_t> shape = global_shape(e, rows);
  const std::vector<hsize_t> dims(shape.begin(), shape.end());
  const std::string what = "/" + e.path + " in " + file_name;
  H5Id space =
      h5_space(dims.empty() ? H5Screate(H5S_SCALAR)
                            : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
               "create the dataspace of " + what);
  H5Id dataset = h5_dataset(H5Dcreate2(file, e.path.c_str(), hdf5_file_type(data.scalar_type()),
                                       space, H5P_DEFAULT, creation, H5P_DEFAULT),
                            "create dataset " + what);

  // Instance-level rows from every rank, the rest from rank 0; the checksum of what was
  // written, one value for the whole dataset on every rank.
  uint32_t crc = 0;
  if (e.instance_level) {
    // A replicated [N, ...] copy writes its rows of the range; a shard writes all it has.
    const int64_t mem_row = data.size(0) == rows.global_rows ? rows.range.begin : 0;
    transfer_rows(dataset, data, mem_row, rows.range.begin, rows.range.size(), true, mpi, what);
    const int64_t row_bytes = row_bytes_of(shape, data.element_size());
    const torch::Tensor mine = data.slice(0, mem_row, mem_row + rows.range.size());
    crc = crc32_over_ranks(
        {rows.range.begin * row_bytes, rows.range.size() * row_bytes, crc32_of_tensor(mine)}, mpi);
  } else {
    const int64_t all_rows = data.dim() == 0 ? 1 : data.size(0);
    transfer_rows(dataset, data, 0, 0, comm.is_root() ? all_rows : 0, true, mpi, what);
    if (comm.is_root()) crc = crc32_of_tensor(data);
    MPI_Bcast(&crc, 1, MPI_UINT32_T, 0, mpi);
  }
  h5_write_scalar_attribute<uint32_t>(dataset, kChecksumAttribute, crc, file_name);
}

}  // namespace

void set_checkpoint_write_observer(std::function<void(const std::string&)> observer) {
  g_write_observer = std::move(observer);
}

std::string save_checkpoint(const std::string& dir, Communicator& comm,
                            const CheckpointTensors& tensors, const ShardedRows& rows,
                            const CheckpointState& state) {
  const MPI_Comm mpi = mpi_comm_of(comm, "save_checkpoint");
  const std::string name = checkpoint_file_name(state.step);
  const fs::path directory(dir);
  const fs::path temporary = directory / ("." + name + ".tmp");
  const std::string file_name = temporary.string();

  // 1. Validate on every rank and agree: same state, same tensors, rows that fit.
  std::vector<CheckpointEntry> entries;
  {
    std::string error;
    try {
      entries = checkpoint_entries(tensors);
      check_ranks_agree(entries, rows, mpi, "save_checkpoint " + name);
      error = state_mismatch(state, mpi);
      if (error.empty()) error = rows_mismatch(entries, rows);
      if (comm.is_root()) fs::create_directories(directory);
    } catch (const std::exception& e) {
      error = e.what();
    }
    throw_if_any_rank_failed(mpi, error);
  }

  // 2. Create the temporary file and the groups (collective).
  H5Id access = open_mpi_file_access(mpi);
  H5Id file = h5_file(H5Fcreate(file_name.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access),
                      "create " + file_name);
  for (const char* group : {"model", "optimizer", "optimizer/momentum", "state"}) {
    h5_group(H5Gcreate2(file, group, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
             std::string("create group /") + group + " in " + file_name);
  }

  // 3. One dataset per tensor, each with its checksum.
  H5Id creation = h5_plist(H5Pcreate(H5P_DATASET_CREATE), "create a dataset property list");
  h5_check(H5Pset_fill_time(creation, H5D_FILL_TIME_NEVER), "skip fill values");
  for (const CheckpointEntry& e : entries) {
    write_dataset(file, creation, e, rows, comm, mpi, file_name);
    if (g_write_observer) g_write_observer(e.path);
  }

  // 4. Root attributes; `complete` last, after everything else reached the file.
  h5_write_string_attribute(file, "format", kCheckpointFormat, file_name);
  h5_write_scalar_attribute<int64_t>(file, "format_version", kCheckpointFormatVersion, file_name);
  h5_write_scalar_attribute<int64_t>(file, "step", state.step, file_name);
  h5_write_scalar_attribute<int64_t>(file, "epoch", state.epoch, file_name);
  h5_write_scalar_attribute<int64_t>(file, "images_seen", state.images_seen, file_name);
  h5_write_scalar_attribute<int64_t>(file, "world_size", comm.world_size(), file_name);
  h5_write_scalar_attribute<uint64_t>(file, "seed", state.seed, file_name);
  h5_write_scalar_attribute<double>(file, "lr_scale", state.lr_scale, file_name);
  h5_write_string_attribute(file, "config", state.config_json, file_name);
  const std::string state_text = checkpoint_state_text(file, file_name);
  h5_write_scalar_attribute<uint32_t>(
      file, kStateChecksumAttribute,
      crc32_of_bytes(state_text.data(), static_cast<int64_t>(state_text.size())), file_name);
  h5_check(H5Fflush(file, H5F_SCOPE_GLOBAL), "flush " + file_name);
  h5_write_scalar_attribute<int64_t>(file, "complete", 1, file_name);
  file.close("close " + file_name);
  access.close("close the file access property list");

  // 5. Rank 0 makes it durable and visible under its final name, then moves the pointer.
  std::string error;
  if (comm.is_root()) {
    try {
      publish_checkpoint(directory, temporary, name);
    } catch (const std::exception& e) {
      error = "save_checkpoint: publishing " + name + " in " + dir + ": " + e.what();
    }
  }
  throw_if_any_rank_failed(mpi, error);
  return (directory / name).string();
}

}  // namespace pic
