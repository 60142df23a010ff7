#include "data/dataset_reader.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "data/dataset_format.h"
#include "data/hdf5_attributes.h"

namespace pic {
namespace {

namespace fmt = dataset_format;

void require_readable_hdf5(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw std::runtime_error(path + ": no such dataset file");
  }
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    throw std::runtime_error(path +
                             ": not an HDF5 file (expected a pic dataset written by "
                             "pic-prep, see docs/dataset-format.md)");
  }
}

// Reads and validates the attributes and dataset lengths of an open dataset file.
DatasetInfo read_info_from(hid_t file_id, const std::string& path) {
  DatasetInfo info;
  info.path = path;
  std::string format = h5_read_string_attribute(file_id, fmt::kAttrFormat, path);
  if (format != fmt::kFormatName) {
    throw std::runtime_error(path + ": not a pic dataset (attribute format is '" + format +
                             "', expected '" + fmt::kFormatName + "')");
  }
  info.format_version = h5_read_scalar_attribute<int32_t>(file_id, fmt::kAttrFormatVersion, path);
  if (info.format_version != fmt::kFormatVersion) {
    throw std::runtime_error(path + ": dataset format_version " +
                             std::to_string(info.format_version) + " is not supported (this " +
                             "build reads version " + std::to_string(fmt::kFormatVersion) +
                             "); convert the images again with this build's pic-prep");
  }
  info.num_images = h5_read_scalar_attribute<int64_t>(file_id, fmt::kAttrNumImages, path);
  info.num_classes = h5_read_scalar_attribute<int64_t>(file_id, fmt::kAttrNumClasses, path);
  info.shuffle_seed = h5_read_scalar_attribute<uint64_t>(file_id, fmt::kAttrShuffleSeed, path);
  info.source_kind = h5_read_string_attribute(file_id, fmt::kAttrSourceKind, path);
  if (info.num_images < 0 || info.num_classes < 1) {
    throw std::runtime_error(path + ": num_images " + std::to_string(info.num_images) +
                             " / num_classes " + std::to_string(info.num_classes) +
                             " out of range (need N >= 0, C >= 1)");
  }

  // Every per-image dataset must agree with num_images.
  auto expect_length = [&](const char* name, int64_t expected) {
    int64_t found = h5_dataset_length(file_id, name, path);
    if (found != expected) {
      throw std::runtime_error(path + ": dataset '" + name + "' has " + std::to_string(found) +
                               " elements, expected " + std::to_string(expected));
    }
  };
  expect_length(fmt::kOffsets, info.num_images + 1);
  expect_length(fmt::kLabels, info.num_images);
  expect_length(fmt::kSourceNames, info.num_images);
  expect_length(fmt::kClassNames, info.num_classes);
  h5_dataset_length(file_id, fmt::kImages, path);  // present and 1-D
  info.class_names = h5_read_fixed_strings(file_id, fmt::kClassNames, path);
  return info;
}

// Reads elements [start, start + count) of a 1-D dataset into out, in transfers of at most
// max_transfer_bytes (HDF5 1.10.8's MPI-IO driver fails at 2 GiB and more per call).
template <typename T>
void read_range(hid_t file_id, const char* name, uint64_t start, uint64_t count, T* out,
                uint64_t max_transfer_bytes, const std::string& path) {
  const std::string what = std::string("dataset '") + name + "' in " + path;
  H5Id dset = h5_dataset(H5Dopen2(file_id, name, H5P_DEFAULT), "open " + what);
  H5Id file_space = h5_space(H5Dget_space(dset), "get the dataspace of " + what);
  uint64_t per_transfer = std::max<uint64_t>(1, max_transfer_bytes / sizeof(T));
  for (uint64_t done = 0; done < count;) {
    hsize_t piece_start[1] = {start + done};
    hsize_t piece_count[1] = {std::min(per_transfer, count - done)};
    const std::string piece = std::string("elements [") + std::to_string(start + done) + ", " +
                              std::to_string(start + done + piece_count[0]) + ") of " + what;
    h5_check(
        H5Sselect_hyperslab(file_space, H5S_SELECT_SET, piece_start, nullptr, piece_count, nullptr),
        "select " + piece);
    H5Id mem_space =
        h5_space(H5Screate_simple(1, piece_count, nullptr), "create a memory space for " + piece);
    h5_check(H5Dread(dset, h5_native_type<T>(), mem_space, file_space, H5P_DEFAULT, out + done),
             "read " + piece);
    done += piece_count[0];
  }
}

// This rank's part of read_dataset_shard; throws on any problem it finds.
DatasetShard read_shard_on_rank(const std::string& path, MPI_Comm comm, int rank, int world,
                                uint64_t max_transfer_bytes) {
  require_readable_hdf5(path);
  H5Id fapl = h5_plist(H5Pcreate(H5P_FILE_ACCESS), "create a file access property list");
  h5_check(H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL), "use the MPI-IO driver for " + path);
  H5Id file = h5_file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl), "open " + path + " with MPI-IO");

  DatasetShard shard;
  shard.info = read_info_from(file.get(), path);
  shard.range = shard_range(shard.info.num_images, rank, world);
  const auto n_local = static_cast<uint64_t>(shard.range.size());
  const auto begin = static_cast<uint64_t>(shard.range.begin);
  const auto total_bytes =
      static_cast<uint64_t>(h5_dataset_length(file.get(), dataset_format::kImages, path));

  // Offsets [begin, end] (one more than images), made relative to the shard's first byte.
  std::vector<uint64_t> global_offsets(n_local + 1);
  read_range(file.get(), dataset_format::kOffsets, begin, n_local + 1, global_offsets.data(),
             max_transfer_bytes, path);
  if (rank == 0 && global_offsets[0] != 0) {
    throw std::runtime_error(path + ": offsets[0] is " + std::to_string(global_offsets[0]) +
                             ", expected 0");
  }
  for (uint64_t i = 0; i < n_local; ++i) {
    if (global_offsets[i + 1] <= global_offsets[i]) {
      throw std::runtime_error(path + ": offsets not increasing at image " +
                               std::to_string(begin + i) + " (" +
                               std::to_string(global_offsets[i]) + " then " +
                               std::to_string(global_offsets[i + 1]) + ")");
    }
  }
  if (global_offsets[n_local] > total_bytes ||
      (shard.range.end == shard.info.num_images && global_offsets[n_local] != total_bytes)) {
    throw std::runtime_error(path + ": offsets[" + std::to_string(shard.range.end) +
                             "] = " + std::to_string(global_offsets[n_local]) +
                             " does not match '" + dataset_format::kImages + "' of " +
                             std::to_string(total_bytes) + " bytes");
  }
  shard.offsets.resize(n_local + 1);
  for (uint64_t i = 0; i <= n_local; ++i) shard.offsets[i] = global_offsets[i] - global_offsets[0];

  // Labels, then the shard's bytes in one sequential range.
  shard.labels.resize(n_local);
  read_range(file.get(), dataset_format::kLabels, begin, n_local, shard.labels.data(),
             max_transfer_bytes, path);
  for (uint64_t i = 0; i < n_local; ++i) {
    if (shard.labels[i] < 0 || shard.labels[i] >= shard.info.num_classes) {
      throw std::runtime_error(path + ": label " + std::to_string(shard.labels[i]) + " of image " +
                               std::to_string(begin + i) + " is outside [0, " +
                               std::to_string(shard.info.num_classes) + ")");
    }
  }
  shard.bytes.resize(shard.offsets[n_local]);
  read_range(file.get(), dataset_format::kImages, global_offsets[0], shard.offsets[n_local],
             shard.bytes.data(), max_transfer_bytes, path);
  return shard;
}

}  // namespace

DatasetInfo read_dataset_info(const std::string& path) {
  require_readable_hdf5(path);
  H5Id file = h5_file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open " + path);
  return read_info_from(file.get(), path);
}

DatasetShard read_dataset_shard(const std::string& path, MPI_Comm comm) {
  return read_dataset_shard(path, comm, kDefaultMaxTransferBytes);
}

DatasetShard read_dataset_shard(const std::string& path, MPI_Comm comm,
                                uint64_t max_transfer_bytes) {
  int rank = 0, world = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &world);

  DatasetShard shard;
  std::string error;
  try {
    shard = read_shard_on_rank(path, comm, rank, world, max_transfer_bytes);
  } catch (const std::exception& e) {
    error = e.what();
  }

  // A problem on one rank takes every rank down, so that no rank waits in a collective.
  int failed = error.empty() ? 0 : 1;
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, comm);
  if (failed) throw std::runtime_error("rank " + std::to_string(rank) + ": " + error);
  if (any_failed) {
    throw std::runtime_error("rank " + std::to_string(rank) + ": " + path +
                             ": reading the dataset shard failed on another rank (its message "
                             "says why)");
  }
  return shard;
}

}  // namespace pic
