#include "train/checkpoint_layout.h"

#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "data/hdf5_attributes.h"
#include "data/hdf5_handles.h"
#include "train/checkpoint_checksum.h"

namespace pic {

std::vector<CheckpointEntry> checkpoint_entries(const CheckpointTensors& tensors) {
  std::vector<CheckpointEntry> entries;
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

std::vector<int64_t> global_shape(const CheckpointEntry& entry, const ShardedRows& rows) {
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

int64_t row_bytes_of(const std::vector<int64_t>& shape, int64_t element_size) {
  int64_t elements = 1;
  for (size_t i = 1; i < shape.size(); ++i) elements *= shape[i];
  return elements * element_size;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

std::string format_names(const std::vector<std::string>& names) {
  constexpr size_t kShown = 12;
  std::string text;
  for (size_t i = 0; i < names.size() && i < kShown; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > kShown) text += " and " + std::to_string(names.size() - kShown) + " more";
  return text;
}

hid_t hdf5_memory_type(torch::ScalarType type) {
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

hid_t hdf5_file_type(torch::ScalarType type) {
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
      hdf5_memory_type(type);  // throws
  }
  return -1;
}

std::optional<torch::ScalarType> torch_type_of_hdf5(hid_t type) {
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

std::string checkpoint_refusal_reason(hid_t file, const std::string& path, int64_t* version) {
  auto has = [&](const char* name) { return H5Aexists(file, name) > 0; };
  if (!has("format") || h5_read_string_attribute(file, "format", path) != kCheckpointFormat) {
    return "not a pic checkpoint (root attribute format != \"pic-checkpoint\")";
  }
  if (!has("format_version")) return "no format_version attribute";
  const int64_t found = h5_read_scalar_attribute<int64_t>(file, "format_version", path);
  if (version) *version = found;
  if (found < kOldestReadableCheckpointFormatVersion || found > kCheckpointFormatVersion) {
    return "format_version " + std::to_string(found) + ", this pic reads versions " +
           std::to_string(kOldestReadableCheckpointFormatVersion) + " to " +
           std::to_string(kCheckpointFormatVersion);
  }
  if (!has("complete") || h5_read_scalar_attribute<int64_t>(file, "complete", path) != 1) {
    return "incomplete: no complete=1 attribute (the writer stopped before finishing)";
  }
  // Written since the root attributes have a checksum of their own; older files have none.
  if (has(kStateChecksumAttribute)) {
    const auto stored = h5_read_scalar_attribute<uint32_t>(file, kStateChecksumAttribute, path);
    std::string text;
    try {
      text = checkpoint_state_text(file, path);
    } catch (const std::exception& e) {
      return std::string("damaged root attributes: ") + e.what();
    }
    const uint32_t computed = crc32_of_bytes(text.data(), static_cast<int64_t>(text.size()));
    if (computed != stored) {
      return "damaged root attributes (step, images_seen, config, ...): their crc32 is " +
             crc32_text(computed) + ", the file says " + crc32_text(stored);
    }
  }
  return "";
}

std::string checkpoint_state_text(hid_t file, const std::string& path) {
  std::ostringstream text;
  for (const char* name : {"step", "epoch", "images_seen", "world_size"}) {
    text << name << '=' << h5_read_scalar_attribute<int64_t>(file, name, path) << ';';
  }
  text << "seed=" << h5_read_scalar_attribute<uint64_t>(file, "seed", path) << ';';
  // Hexadecimal floating point: exact, so the text is a function of the stored bits.
  char lr_scale[64];
  std::snprintf(lr_scale, sizeof lr_scale, "%a",
                h5_read_scalar_attribute<double>(file, "lr_scale", path));
  text << "lr_scale=" << lr_scale << ";config=" << h5_read_string_attribute(file, "config", path);
  return text.str();
}

std::optional<uint32_t> stored_checksum(hid_t dataset, const std::string& what) {
  if (H5Aexists(dataset, kChecksumAttribute) <= 0) return std::nullopt;
  return h5_read_scalar_attribute<uint32_t>(dataset, kChecksumAttribute, what);
}

std::string checksum_mismatch(const std::string& dataset_path, uint32_t stored, uint32_t read) {
  return "/" + dataset_path + " (crc32 in the file " + crc32_text(stored) + ", of the bytes read " +
         crc32_text(read) + ")";
}

}  // namespace pic
