// load_checkpoint: every rank opens the file collectively, checks it against the model,
// reads its tensors (all of them, or its own rows of the instance-level ones) and verifies
// every dataset's checksum. See checkpoint.h.
#include <filesystem>
#include <optional>
#include <set>
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

// The root attributes, for a file that passed checkpoint_refusal_reason.
void read_state(hid_t file, const std::string& path, LoadedCheckpoint& loaded) {
  CheckpointState& state = loaded.state;
  state.step = h5_read_scalar_attribute<int64_t>(file, "step", path);
  state.epoch = h5_read_scalar_attribute<int64_t>(file, "epoch", path);
  state.seed = h5_read_scalar_attribute<uint64_t>(file, "seed", path);
  state.config_json = h5_read_string_attribute(file, "config", path);
  loaded.saved_world_size = h5_read_scalar_attribute<int64_t>(file, "world_size", path);
  state.images_seen = loaded.format_version >= 2
                          ? h5_read_scalar_attribute<int64_t>(file, "images_seen", path)
                          : -1;
  // Optional: files written before the trainer could lower the learning rate have none.
  state.lr_scale = H5Aexists(file, "lr_scale") > 0
                       ? h5_read_scalar_attribute<double>(file, "lr_scale", path)
                       : 1.0;
}

// Names missing from the file, not matching the model, or in the file but not the model;
// empty when the file holds exactly the model's tensors. `checksums` receives each entry's
// stored crc32 (nullopt: none).
std::string model_mismatch(hid_t file, const std::string& path,
                           const std::vector<CheckpointEntry>& entries, const ShardedRows& rows,
                           InstanceRows mode, std::vector<std::optional<uint32_t>>& checksums) {
  std::vector<std::string> missing, wrong, unexpected;
  std::set<std::string> expected;
  checksums.assign(entries.size(), std::nullopt);
  for (size_t i = 0; i < entries.size(); ++i) {
    const CheckpointEntry& e = entries[i];
    expected.insert(e.path);
    if (!e.tensor.defined() || !e.tensor.device().is_cpu() || !e.tensor.is_contiguous()) {
      wrong.push_back(e.path + " (target is not a contiguous CPU tensor)");
      continue;
    }
    if (e.instance_level) {
      const int64_t want = mode == InstanceRows::kAll ? rows.global_rows : rows.range.size();
      if (e.tensor.dim() == 0 || e.tensor.size(0) != want) {
        wrong.push_back(e.path + " (target has " +
                        std::to_string(e.tensor.dim() ? e.tensor.size(0) : 0) +
                        " rows, this load mode needs " + std::to_string(want) + ")");
        continue;
      }
    }
    if (H5Lexists(file, e.path.c_str(), H5P_DEFAULT) <= 0) {
      missing.push_back(e.path);
      continue;
    }
    const std::string what = "/" + e.path + " in " + path;
    H5Id dataset = h5_dataset(H5Dopen2(file, e.path.c_str(), H5P_DEFAULT), "open " + what);
    H5Id space = h5_space(H5Dget_space(dataset), "get the dataspace of " + what);
    H5Id type = h5_type(H5Dget_type(dataset), "get the type of " + what);
    std::vector<hsize_t> dims(static_cast<size_t>(H5Sget_simple_extent_ndims(space)));
    H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    const std::vector<int64_t> found(dims.begin(), dims.end());
    const std::vector<int64_t> want = global_shape(e, rows);
    const auto stored_type = torch_type_of_hdf5(type);
    if (found != want) {
      wrong.push_back(e.path + " (file " + shape_text(found) + ", model " + shape_text(want) + ")");
    } else if (!stored_type || *stored_type != e.tensor.scalar_type()) {
      wrong.push_back(e.path + " (file dtype " +
                      (stored_type ? c10::toString(*stored_type) : "unsupported") + ", model " +
                      c10::toString(e.tensor.scalar_type()) + ")");
    }
    checksums[i] = stored_checksum(dataset, what);
  }
  for (const std::string group : {"model", "optimizer/momentum", "state"}) {
    for (const std::string& n : link_names(file, group)) {
      if (!expected.count(group + "/" + n)) unexpected.push_back(group + "/" + n);
    }
  }
  if (missing.empty() && wrong.empty() && unexpected.empty()) return "";
  std::string text = "checkpoint " + path + " does not match the model:";
  if (!missing.empty()) text += "\n  missing: " + format_names(missing);
  if (!wrong.empty()) text += "\n  mis-shaped or mis-typed: " + format_names(wrong);
  if (!unexpected.empty()) text += "\n  not in the model: " + format_names(unexpected);
  return text;
}

// The CRC-32 of the bytes this rank read of `e`, over the whole dataset (collective for the
// instance-level rows each rank reads on its own).
uint32_t checksum_of_read(const CheckpointEntry& e, const ShardedRows& rows, InstanceRows mode,
                          MPI_Comm mpi) {
  if (e.instance_level && mode == InstanceRows::kMine) {
    const int64_t row_bytes = row_bytes_of(global_shape(e, rows), e.tensor.element_size());
    return crc32_over_ranks(
        {rows.range.begin * row_bytes, rows.range.size() * row_bytes, crc32_of_tensor(e.tensor)},
        mpi);
  }
  return crc32_of_tensor(e.tensor);
}

}  // namespace

LoadedCheckpoint load_checkpoint(const std::string& path, Communicator& comm,
                                 const CheckpointTensors& tensors, const ShardedRows& rows,
                                 InstanceRows mode) {
  const MPI_Comm mpi = mpi_comm_of(comm, "load_checkpoint");
  LoadedCheckpoint loaded;
  loaded.path = path;

  // 1. Every rank agrees on the tensors it passes (a caller's bug, not the file's).
  std::vector<CheckpointEntry> entries;
  {
    std::string error;
    try {
      entries = checkpoint_entries(tensors);
      check_ranks_agree(entries, rows, mpi, "load_checkpoint " + path);
    } catch (const std::exception& e) {
      error = e.what();
    }
    throw_if_any_rank_failed(mpi, error);
  }

  // 2. Open collectively and check the file, then every tensor, before reading anything.
  // Our messages name the file and the dataset: no HDF5 error stack from here on.
  H5QuietErrors quiet;
  H5Id access, file;
  std::vector<std::optional<uint32_t>> checksums;
  RankError error;
  try {
    error.damaged = true;  // until the file itself has passed its checks
    if (!fs::exists(path)) throw std::runtime_error("checkpoint " + path + " does not exist");
    access = open_mpi_file_access(mpi);
    try {
      file = h5_file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, access), "open " + path);
    } catch (const std::exception& e) {
      throw std::runtime_error("checkpoint " + path +
                               " is unreadable by HDF5, truncated or not HDF5: " + e.what());
    }
    const std::string reason = checkpoint_refusal_reason(file, path, &loaded.format_version);
    if (!reason.empty()) throw std::runtime_error("checkpoint " + path + " refused: " + reason);
    read_state(file, path, loaded);
    // A tensor that does not match is the run's doing; HDF5 failing to read the layout is
    // damage (an older checkpoint may still be good).
    try {
      error.text = model_mismatch(file, path, entries, rows, mode, checksums);
      error.damaged = false;
    } catch (const std::exception& e) {
      throw std::runtime_error("checkpoint " + path +
                               " is damaged: HDF5 cannot read its structure: " + e.what());
    }
  } catch (const std::exception& e) {
    error.text = e.what();
  }
  agree_on_checkpoint_error(mpi, error);

  // 3. Collective reads (replicated tensors whole, instance-level ones by `mode`), each
  // checked against its checksum.
  torch::NoGradGuard no_grad;
  std::vector<std::string> damaged;
  for (size_t i = 0; i < entries.size(); ++i) {
    const CheckpointEntry& e = entries[i];
    const std::string what = "/" + e.path + " in " + path;
    H5Id dataset = h5_dataset(H5Dopen2(file, e.path.c_str(), H5P_DEFAULT), "open " + what);
    if (e.instance_level && mode == InstanceRows::kMine) {
      transfer_rows(dataset, e.tensor, 0, rows.range.begin, rows.range.size(), false, mpi, what);
    } else {
      const int64_t all_rows = e.tensor.dim() == 0 ? 1 : e.tensor.size(0);
      transfer_rows(dataset, e.tensor, 0, 0, all_rows, false, mpi, what);
    }
    const uint32_t read = checksum_of_read(e, rows, mode, mpi);
    if (!checksums[i]) {
      // Version 1 files have no checksums; a version 2 file must have every one.
      if (loaded.format_version >= 2) damaged.push_back("/" + e.path + " (no crc32 attribute)");
    } else if (*checksums[i] != read) {
      damaged.push_back(checksum_mismatch(e.path, *checksums[i], read));
    }
  }
  file.close("close " + path);
  if (!damaged.empty()) {
    error.damaged = true;
    error.text = "checkpoint " + path + " is damaged: " + std::to_string(damaged.size()) +
                 " dataset(s) do not match their checksum: " + format_names(damaged);
  }
  agree_on_checkpoint_error(mpi, error);
  return loaded;
}

}  // namespace pic
