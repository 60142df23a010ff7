#pragma once
// How the tensors of a checkpoint map to HDF5 datasets and element types, and what makes a
// file a readable pic checkpoint: shared by the writer (checkpoint_save.cpp) and the readers
// (checkpoint_load.cpp, checkpoint_read.cpp). Internal to pic_train.
#include <hdf5.h>
#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "train/checkpoint.h"

namespace pic {

// The per-dataset checksum attribute (checkpoint_checksum.h).
constexpr const char* kChecksumAttribute = "crc32";
// The root attribute with the CRC-32 of checkpoint_state_text (format 2 files since it came).
constexpr const char* kStateChecksumAttribute = "state_crc32";

// One tensor of the checkpoint and where it lives in the file.
struct CheckpointEntry {
  std::string path;  // "model/encoder.conv1.weight"
  std::string name;  // "encoder.conv1.weight"
  torch::Tensor tensor;
  bool instance_level = false;
};

// model, then momentum, then state; throws on a name that is empty or holds '/'.
std::vector<CheckpointEntry> checkpoint_entries(const CheckpointTensors& tensors);

// The shape of an entry in the file: [N, ...] for instance-level tensors.
std::vector<int64_t> global_shape(const CheckpointEntry& entry, const ShardedRows& rows);

// Bytes of one row (first dimension) of a dataset of `shape`; a 0-dim one is one row.
int64_t row_bytes_of(const std::vector<int64_t>& shape, int64_t element_size);

// "[4, 3, 3, 3]"
std::string shape_text(const std::vector<int64_t>& shape);

// The first names and a count of the rest: a whole other model has hundreds.
std::string format_names(const std::vector<std::string>& names);

// Element types: native in memory, explicit little-endian in the file (the same files on
// every machine); the torch dtype a stored type maps to, nullopt for anything else.
hid_t hdf5_memory_type(torch::ScalarType type);
hid_t hdf5_file_type(torch::ScalarType type);
std::optional<torch::ScalarType> torch_type_of_hdf5(hid_t type);

// Names of the links in group `group_path` (none when the group does not exist).
std::vector<std::string> link_names(hid_t file, const std::string& group_path);

// Empty when the open file is a complete pic checkpoint of a format version this pic reads;
// else the reason. `version` receives format_version when there is one.
std::string checkpoint_refusal_reason(hid_t file, const std::string& path, int64_t* version);

// The crc32 attribute of an open dataset; nullopt when it has none.
// The root attributes a resume acts on (step, epoch, images_seen, world_size, seed,
// lr_scale, config), as text in a fixed order: what the `state_crc32` root attribute covers.
// Throws when one of them is missing or unreadable.
std::string checkpoint_state_text(hid_t file, const std::string& path);

std::optional<uint32_t> stored_checksum(hid_t dataset, const std::string& what);

// "/model/sim_matrix (crc32 in the file 0x..., of the bytes read 0x...)"
std::string checksum_mismatch(const std::string& dataset_path, uint32_t stored, uint32_t read);

}  // namespace pic
