// Collective checkpoint writing and reading. See checkpoint.h and docs/checkpoint-format.md.
//
// Every HDF5 call that creates objects or writes attributes is collective: all ranks make
// the same calls in the same order with the same arguments. Before any collective I/O the
// ranks check that they agree on names, shapes and dtypes (a cheap checksum), so a bug in
// the caller is an error message, not a hang or a silently corrupt file.
#include "train/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "comm/mpi_communicator.h"
#include "data/hdf5_attributes.h"

namespace pic {
namespace {

namespace fs = std::filesystem;

int64_t g_transfer_limit_bytes = int64_t{1} << 30;

// One tensor of the checkpoint and where it lives in the file.
struct Entry {
  std::string path;  // "model/encoder.conv1.weight"
  std::string name;  // "encoder.conv1.weight"
  torch::Tensor tensor;
  bool instance_level = false;
};

std::vector<Entry> entries_of(const CheckpointTensors& tensors) {
  std::vector<Entry> entries;
  auto add = [&](const NamedTensors& group, const std::string& prefix, bool may_be_instance) {
    for (const auto& [name, tensor] : group) {
      if (name.empty() || name.find('/') != std::string::npos) {
        throw std::invalid_argument("checkpoint: tensor name '" + name +
                                    "' is empty or contains '/'");
      }
      const bool instance = may_be_instance && tensors.instance_level.count(name) > 0;
      entries.push_back({prefix + name, name, tensor, instance});
    }
  };
  add(tensors.model, "model/", true);
  add(tensors.momentum, "optimizer/momentum/", true);
  add(tensors.state, "state/", false);
  return entries;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

// ---- dtypes --------------------------------------------------------------------------
hid_t memory_type_of(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32:
      return H5T_NATIVE_FLOAT;
    case torch::kFloat64:
      return H5T_NATIVE_DOUBLE;
    case torch::kInt32:
      return H5T_NATIVE_INT32;
    case torch::kInt64:
      return H5T_NATIVE_INT64;
    case torch::kUInt8:
      return H5T_NATIVE_UINT8;
    default:
      throw std::invalid_argument(std::string("checkpoint: unsupported dtype ") +
                                  c10::toString(type) +
                                  " (float32, float64, int32, int64, uint8 are supported)");
  }
}

// Explicit little-endian file types, so files are the same on every machine.
hid_t file_type_of(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32:
      return H5T_IEEE_F32LE;
    case torch::kFloat64:
      return H5T_IEEE_F64LE;
    case torch::kInt32:
      return H5T_STD_I32LE;
    case torch::kInt64:
      return H5T_STD_I64LE;
    case torch::kUInt8:
      return H5T_STD_U8LE;
    default:
      memory_type_of(type);  // throws
  }
  return -1;
}

// The torch dtype a stored dataset maps to, or nullopt for anything else.
std::optional<torch::ScalarType> torch_type_of(hid_t type) {
  const H5T_class_t type_class = H5Tget_class(type);
  const size_t size = H5Tget_size(type);
  if (type_class == H5T_FLOAT) {
    if (size == 4) return torch::kFloat32;
    if (size == 8) return torch::kFloat64;
  } else if (type_class == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
    if (is_signed && size == 4) return torch::kInt32;
    if (is_signed && size == 8) return torch::kInt64;
    if (!is_signed && size == 1) return torch::kUInt8;
  }
  return std::nullopt;
}

// ---- attributes ----------------------------------------------------------------------
// Fixed-length strings (parallel HDF5 cannot write variable-length data) and 64-bit integers,
// through data/hdf5_attributes.h.
bool has_attribute(hid_t object, const char* name) { return H5Aexists(object, name) > 0; }

// Empty when the open file carries a complete pic checkpoint; else the reason.
std::string incomplete_reason(hid_t file, const std::string& path) {
  if (!has_attribute(file, "format") ||
      h5_read_string_attribute(file, "format", path) != kCheckpointFormat) {
    return "not a pic checkpoint (root attribute format != \"pic-checkpoint\")";
  }
  if (!has_attribute(file, "format_version")) return "no format_version attribute";
  const int64_t version = h5_read_scalar_attribute<int64_t>(file, "format_version", path);
  if (version != kCheckpointFormatVersion) {
    return "format_version " + std::to_string(version) + ", this pic reads version " +
           std::to_string(kCheckpointFormatVersion);
  }
  if (!has_attribute(file, "complete") ||
      h5_read_scalar_attribute<int64_t>(file, "complete", path) != 1) {
    return "incomplete: no complete=1 attribute (the writer stopped before finishing)";
  }
  return "";
}

// ---- collective row transfers -------------------------------------------------------
// Moves `count` rows between tensor rows [mem_row, mem_row + count) and file rows
// [file_row, file_row + count) of `dataset`, in collective calls of at most
// g_transfer_limit_bytes. `count` may differ per rank (0 = take part without data). A
// 0-dim tensor is one "row" of one element (scalar dataspace).
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
  const hid_t memory_type = memory_type_of(tensor.scalar_type());
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

// The global shape of an entry in the file: [N, ...] for instance-level tensors.
std::vector<int64_t> global_shape(const Entry& entry, const ShardedRows& rows) {
  std::vector<int64_t> shape = entry.tensor.sizes().vec();
  if (entry.instance_level) {
    if (shape.empty()) {
      throw std::invalid_argument("checkpoint: instance-level tensor " + entry.name +
                                  " must have a row dimension");
    }
    shape[0] = rows.global_rows;
  }
  return shape;
}

// Every rank must describe the same tensors: compare a checksum of names, shapes, dtypes.
void check_ranks_agree(const std::vector<Entry>& entries, const ShardedRows& rows, MPI_Comm comm,
                       const std::string& what) {
  std::string description = std::to_string(rows.global_rows) + ";";
  for (const Entry& e : entries) {
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

H5Id open_mpi_file_access(MPI_Comm comm) {
  H5Id access = h5_plist(H5Pcreate(H5P_FILE_ACCESS), "create a file access property list");
  h5_check(H5Pset_fapl_mpio(access, comm, MPI_INFO_NULL), "use the MPI-IO driver");
  // Format 1.8 or later: compact groups and large attributes (a long config JSON).
  h5_check(H5Pset_libver_bounds(access, H5F_LIBVER_V18, H5F_LIBVER_LATEST),
           "set the file format bounds");
  return access;
}

H5Id ensure_group(hid_t file, const std::string& path, const std::string& file_name) {
  return h5_group(H5Gcreate2(file, path.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                  "create group /" + path + " in " + file_name);
}

// Rank 0's finishing steps: make the data durable, publish the name, move the pointer.
void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) throw std::runtime_error("cannot open " + path + " to fsync it");
  const int status = ::fsync(fd);
  ::close(fd);
  if (status != 0) throw std::runtime_error("fsync of " + path + " failed");
}

void publish_checkpoint(const fs::path& dir, const fs::path& temporary, const std::string& name) {
  fsync_path(temporary.string(), false);
  fs::rename(temporary, dir / name);
  fsync_path(dir.string(), true);

  const fs::path pointer_temporary = dir / ".latest.tmp";
  {
    std::ofstream out(pointer_temporary, std::ios::trunc);
    out << name << '\n';
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + pointer_temporary.string());
  }
  fsync_path(pointer_temporary.string(), false);
  fs::rename(pointer_temporary, dir / "latest");
  fsync_path(dir.string(), true);
}

// The step of "ckpt_00001234.h5", or -1 for any other name.
int64_t step_of_file_name(const std::string& name) {
  const std::string head = "ckpt_", tail = ".h5";
  if (name.size() <= head.size() + tail.size() || name.compare(0, head.size(), head) != 0 ||
      name.compare(name.size() - tail.size(), tail.size(), tail) != 0) {
    return -1;
  }
  const std::string digits = name.substr(head.size(), name.size() - head.size() - tail.size());
  if (!std::all_of(digits.begin(), digits.end(), ::isdigit)) return -1;
  return std::stoll(digits);
}

// The first names and a count of the rest: a whole other model has hundreds.
std::string format_names(const std::vector<std::string>& names) {
  constexpr size_t kShown = 12;
  std::string text;
  for (size_t i = 0; i < names.size() && i < kShown; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > kShown) text += " and " + std::to_string(names.size() - kShown) + " more";
  return text;
}

// Names of the links in group `group_path` ("" when the group does not exist).
std::vector<std::string> link_names(hid_t file, const std::string& group_path) {
  std::vector<std::string> names;
  if (H5Lexists(file, group_path.c_str(), H5P_DEFAULT) <= 0) return names;
  H5Id group = h5_group(H5Gopen2(file, group_path.c_str(), H5P_DEFAULT), "open /" + group_path);
  auto collect = [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->push_back(name);
    return 0;
  };
  hsize_t index = 0;
  h5_check(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &index, collect, &names),
           "list /" + group_path);
  return names;
}

}  // namespace

// ---------------------------------------------------------------------------------------
std::string checkpoint_file_name(int64_t step) {
  char name[32];
  std::snprintf(name, sizeof(name), "ckpt_%08lld.h5", static_cast<long long>(step));
  return name;
}

void set_checkpoint_transfer_limit(int64_t bytes) {
  if (bytes < 1) throw std::invalid_argument("checkpoint transfer limit must be >= 1 byte");
  g_transfer_limit_bytes = bytes;
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
  std::vector<Entry> entries;
  {
    std::string error;
    try {
      entries = entries_of(tensors);
      check_ranks_agree(entries, rows, mpi, "save_checkpoint " + name);
      int64_t values[3] = {state.step, state.epoch, static_cast<int64_t>(state.seed)};
      int64_t root_values[3] = {values[0], values[1], values[2]};
      MPI_Bcast(root_values, 3, MPI_INT64_T, 0, mpi);
      std::hash<std::string> hasher;
      int64_t config_hash = static_cast<int64_t>(hasher(state.config_json) >> 1);
      int64_t root_hash = config_hash;
      MPI_Bcast(&root_hash, 1, MPI_INT64_T, 0, mpi);
      if (!std::equal(values, values + 3, root_values) || config_hash != root_hash) {
        error = "save_checkpoint: step, epoch, seed or config differ from rank 0's";
      }
      for (const Entry& e : entries) {
        if (!e.instance_level) continue;
        const int64_t local = e.tensor.dim() ? e.tensor.size(0) : -1;
        if (local != rows.global_rows && local != rows.range.size()) {
          error = "save_checkpoint: instance-level tensor " + e.path + " has " +
                  std::to_string(local) +
                  " rows; expected N = " + std::to_string(rows.global_rows) +
                  " (replicated) or this rank's " + std::to_string(rows.range.size()) + " rows";
        }
        if (rows.range.begin < 0 || rows.range.end > rows.global_rows ||
            rows.range.begin > rows.range.end) {
          error = "save_checkpoint: row range [" + std::to_string(rows.range.begin) + ", " +
                  std::to_string(rows.range.end) +
                  ") is outside N = " + std::to_string(rows.global_rows);
        }
      }
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
  {
    H5Id model = ensure_group(file, "model", file_name);
    H5Id optimizer = ensure_group(file, "optimizer", file_name);
    H5Id momentum = ensure_group(file, "optimizer/momentum", file_name);
    H5Id state_group = ensure_group(file, "state", file_name);
  }

  // 3. One dataset per tensor; instance-level rows from every rank, the rest from rank 0.
  H5Id creation = h5_plist(H5Pcreate(H5P_DATASET_CREATE), "create a dataset property list");
  h5_check(H5Pset_fill_time(creation, H5D_FILL_TIME_NEVER), "skip fill values");
  for (const Entry& e : entries) {
    const torch::Tensor data = e.tensor.detach().to(torch::kCPU).contiguous();
    const std::vector<int64_t> shape = global_shape(e, rows);
    const std::vector<hsize_t> dims(shape.begin(), shape.end());
    H5Id space = h5_space(
        dims.empty() ? H5Screate(H5S_SCALAR)
                     : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
        "create the dataspace of /" + e.path);
    H5Id dataset = h5_dataset(H5Dcreate2(file, e.path.c_str(), file_type_of(data.scalar_type()),
                                         space, H5P_DEFAULT, creation, H5P_DEFAULT),
                              "create dataset /" + e.path + " in " + file_name);
    const std::string what = "/" + e.path + " in " + file_name;
    if (e.instance_level) {
      // A replicated [N, ...] copy writes rows range of itself; a shard writes all it has.
      const int64_t mem_row = data.size(0) == rows.global_rows ? rows.range.begin : 0;
      transfer_rows(dataset, data, mem_row, rows.range.begin, rows.range.size(), true, mpi, what);
    } else {
      const int64_t all_rows = data.dim() == 0 ? 1 : data.size(0);
      transfer_rows(dataset, data, 0, 0, comm.is_root() ? all_rows : 0, true, mpi, what);
    }
  }

  // 4. Root attributes; `complete` last, after everything else reached the file.
  h5_write_string_attribute(file, "format", kCheckpointFormat, file_name);
  h5_write_scalar_attribute<int64_t>(file, "format_version", kCheckpointFormatVersion, file_name);
  h5_write_scalar_attribute<int64_t>(file, "step", state.step, file_name);
  h5_write_scalar_attribute<int64_t>(file, "epoch", state.epoch, file_name);
  h5_write_scalar_attribute<int64_t>(file, "world_size", comm.world_size(), file_name);
  h5_write_scalar_attribute<uint64_t>(file, "seed", state.seed, file_name);
  h5_write_string_attribute(file, "config", state.config_json, file_name);
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

LoadedCheckpoint load_checkpoint(const std::string& path, Communicator& comm,
                                 const CheckpointTensors& tensors, const ShardedRows& rows,
                                 InstanceRows mode) {
  const MPI_Comm mpi = mpi_comm_of(comm, "load_checkpoint");
  LoadedCheckpoint loaded;
  loaded.path = path;

  // 1. Open collectively and check the file and every tensor before reading anything.
  H5Id access, file;
  std::vector<Entry> entries;
  std::string error;
  try {
    entries = entries_of(tensors);
    check_ranks_agree(entries, rows, mpi, "load_checkpoint " + path);
    if (!fs::exists(path)) throw std::runtime_error("checkpoint " + path + " does not exist");
    access = open_mpi_file_access(mpi);
    {
      H5QuietErrors quiet;
      file = h5_file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, access), "open " + path);
    }
    const std::string reason = incomplete_reason(file, path);
    if (!reason.empty()) throw std::runtime_error("checkpoint " + path + " refused: " + reason);
    loaded.state.step = h5_read_scalar_attribute<int64_t>(file, "step", path);
    loaded.state.epoch = h5_read_scalar_attribute<int64_t>(file, "epoch", path);
    loaded.state.seed = h5_read_scalar_attribute<uint64_t>(file, "seed", path);
    loaded.state.config_json = h5_read_string_attribute(file, "config", path);
    loaded.saved_world_size = h5_read_scalar_attribute<int64_t>(file, "world_size", path);

    std::vector<std::string> missing, wrong, unexpected;
    std::set<std::string> expected;
    for (const Entry& e : entries) {
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
      H5Id dataset = h5_dataset(H5Dopen2(file, e.path.c_str(), H5P_DEFAULT), "open /" + e.path);
      H5Id space = h5_space(H5Dget_space(dataset), "get the dataspace of /" + e.path);
      H5Id type = h5_type(H5Dget_type(dataset), "get the type of /" + e.path);
      std::vector<hsize_t> dims(static_cast<size_t>(H5Sget_simple_extent_ndims(space)));
      H5Sget_simple_extent_dims(space, dims.data(), nullptr);
      const std::vector<int64_t> found(dims.begin(), dims.end());
      const std::vector<int64_t> want = global_shape(e, rows);
      const auto stored_type = torch_type_of(type);
      if (found != want) {
        wrong.push_back(e.path + " (file " + shape_text(found) + ", model " + shape_text(want) +
                        ")");
      } else if (!stored_type || *stored_type != e.tensor.scalar_type()) {
        wrong.push_back(e.path + " (file dtype " +
                        (stored_type ? c10::toString(*stored_type) : "unsupported") + ", model " +
                        c10::toString(e.tensor.scalar_type()) + ")");
      }
    }
    for (const std::string group : {"model", "optimizer/momentum", "state"}) {
      for (const std::string& n : link_names(file, group)) {
        if (!expected.count(group + "/" + n)) unexpected.push_back(group + "/" + n);
      }
    }
    if (!missing.empty() || !wrong.empty() || !unexpected.empty()) {
      std::string text = "checkpoint " + path + " does not match the model:";
      if (!missing.empty()) text += "\n  missing: " + format_names(missing);
      if (!wrong.empty()) text += "\n  mis-shaped or mis-typed: " + format_names(wrong);
      if (!unexpected.empty()) text += "\n  not in the model: " + format_names(unexpected);
      throw std::runtime_error(text);
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  throw_if_any_rank_failed(mpi, error);

  // 2. Collective reads: replicated tensors whole, instance-level ones by `mode`.
  torch::NoGradGuard no_grad;
  for (const Entry& e : entries) {
    H5Id dataset = h5_dataset(H5Dopen2(file, e.path.c_str(), H5P_DEFAULT), "open /" + e.path);
    const std::string what = "/" + e.path + " in " + path;
    if (e.instance_level && mode == InstanceRows::kMine) {
      transfer_rows(dataset, e.tensor, 0, rows.range.begin, rows.range.size(), false, mpi, what);
    } else {
      const int64_t all_rows = e.tensor.dim() == 0 ? 1 : e.tensor.size(0);
      transfer_rows(dataset, e.tensor, 0, 0, all_rows, false, mpi, what);
    }
  }
  file.close("close " + path);
  return loaded;
}

std::string read_checkpoint_config(const std::string& path) {
  H5QuietErrors quiet;
  H5Id file = h5_file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open " + path);
  return h5_read_string_attribute(file, "config", path);
}

std::string checkpoint_incomplete_reason(const std::string& path) {
  if (!fs::is_regular_file(path)) return "no such file";
  H5QuietErrors quiet;
  try {
    H5Id file = h5_file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open " + path);
    return incomplete_reason(file, path);
  } catch (const std::exception& e) {
    return std::string("unreadable (") + e.what() + ")";
  }
}

std::optional<LatestCheckpoint> find_latest_checkpoint(const std::string& dir) {
  const fs::path directory(dir);
  if (!fs::is_directory(directory)) return std::nullopt;

  // 1. The pointer file, when it names a complete checkpoint.
  std::string note;
  const fs::path pointer = directory / "latest";
  if (fs::exists(pointer)) {
    std::ifstream in(pointer);
    std::string name;
    std::getline(in, name);
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.pop_back();
    const std::string named = (directory / name).string();
    const std::string reason =
        name.empty() ? "the pointer file is empty" : checkpoint_incomplete_reason(named);
    if (reason.empty()) return LatestCheckpoint{named, ""};
    note = pointer.string() + " names '" + name + "', which is not usable: " + reason;
  } else {
    note = "no pointer file " + pointer.string();
  }

  // 2. Otherwise the complete ckpt_*.h5 with the highest step.
  std::map<int64_t, std::string, std::greater<>> candidates;
  for (const auto& item : fs::directory_iterator(directory)) {
    const int64_t step = step_of_file_name(item.path().filename().string());
    if (step >= 0 && item.is_regular_file()) candidates[step] = item.path().string();
  }
  for (const auto& [step, candidate] : candidates) {
    const std::string reason = checkpoint_incomplete_reason(candidate);
    if (reason.empty()) {
      return LatestCheckpoint{candidate, note + "; using " + candidate + " (step " +
                                             std::to_string(step) + ") instead"};
    }
    note += "; skipped " + candidate + ": " + reason;
  }
  return std::nullopt;
}

NamedTensors read_checkpoint_tensors(const std::string& path, const std::string& prefix) {
  const size_t slash = prefix.rfind('/');
  if (slash == std::string::npos) {
    throw std::invalid_argument("read_checkpoint_tensors: prefix '" + prefix +
                                "' must start with a group, e.g. \"model/encoder.\"");
  }
  const std::string group = prefix.substr(0, slash);
  const std::string name_prefix = prefix.substr(slash + 1);
  const std::string reason = checkpoint_incomplete_reason(path);
  if (!reason.empty()) throw std::runtime_error("checkpoint " + path + " refused: " + reason);

  H5Id file = h5_file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open " + path);
  NamedTensors out;
  for (const std::string& name : link_names(file, group)) {
    if (name.compare(0, name_prefix.size(), name_prefix) != 0) continue;
    const std::string object = group + "/" + name;
    H5Id dataset =
        h5_dataset(H5Dopen2(file, object.c_str(), H5P_DEFAULT), "open /" + object + " in " + path);
    H5Id space = h5_space(H5Dget_space(dataset), "get the dataspace of /" + object);
    H5Id type = h5_type(H5Dget_type(dataset), "get the type of /" + object);
    const auto dtype = torch_type_of(type);
    if (!dtype)
      throw std::runtime_error("checkpoint " + path + ": /" + object +
                               " has an unsupported element type");
    std::vector<hsize_t> dims(static_cast<size_t>(H5Sget_simple_extent_ndims(space)));
    H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    torch::Tensor tensor =
        torch::empty(std::vector<int64_t>(dims.begin(), dims.end()), torch::dtype(*dtype));
    if (tensor.numel() > 0) {
      // Serial reads have no 2 GiB limit of the MPI-IO driver; one call per tensor.
      h5_check(H5Dread(dataset, memory_type_of(*dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                       tensor.data_ptr()),
               "read /" + object + " in " + path);
    }
    out.emplace_back(name, tensor);
  }
  if (out.empty()) {
    throw std::runtime_error("checkpoint " + path + " has no tensor under /" + prefix);
  }
  return out;
}

void copy_tensors_by_name(const NamedTensors& source, const NamedTensors& target,
                          const std::string& context) {
  std::map<std::string, torch::Tensor> by_name(source.begin(), source.end());
  std::vector<std::string> missing, wrong;
  for (const auto& [name, tensor] : target) {
    auto found = by_name.find(name);
    if (found == by_name.end()) {
      missing.push_back(name);
    } else if (found->second.sizes() != tensor.sizes()) {
      wrong.push_back(name + " (source " + shape_text(found->second.sizes().vec()) + ", target " +
                      shape_text(tensor.sizes().vec()) + ")");
    }
  }
  if (!missing.empty() || !wrong.empty()) {
    std::string text = context + ": tensors do not match:";
    if (!missing.empty()) text += "\n  missing: " + format_names(missing);
    if (!wrong.empty()) text += "\n  mis-shaped: " + format_names(wrong);
    throw std::runtime_error(text);
  }
  torch::NoGradGuard no_grad;
  for (const auto& [name, tensor] : target) {
    torch::Tensor destination = tensor;
    destination.copy_(by_name.at(name));
  }
}

}  // namespace pic
