#include "train/checkpoint_read.h"

#include <filesystem>
#include <map>
#include <vector>

#include "data/hdf5_attributes.h"
#include "data/hdf5_handles.h"
#include "train/checkpoint_checksum.h"
#include "train/checkpoint_layout.h"

namespace pic {

std::string read_checkpoint_config(const std::string& path) {
  H5QuietErrors quiet;
  H5Id file = h5_file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open " + path);
  return h5_read_string_attribute(file, "config", path);
}

std::string checkpoint_incomplete_reason(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) return "no such file";
  H5QuietErrors quiet;
  try {
    H5Id file = h5_file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open " + path);
    return checkpoint_refusal_reason(file, path, nullptr);
  } catch (const std::exception& e) {
    return std::string("unreadable by HDF5, truncated or not HDF5 (") + e.what() + ")";
  }
}

int64_t read_checkpoint_images_seen(const std::string& path) {
  H5QuietErrors quiet;
  try {
    H5Id file = h5_file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open " + path);
    if (H5Aexists(file, "images_seen") <= 0) return -1;
    return h5_read_scalar_attribute<int64_t>(file, "images_seen", path);
  } catch (const std::exception&) {
    return -1;
  }
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
  if (!reason.empty()) throw CheckpointDamaged("checkpoint " + path + " refused: " + reason);

  H5Id file = h5_file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open " + path);
  int64_t version = 0;
  checkpoint_refusal_reason(file, path, &version);
  NamedTensors out;
  std::vector<std::string> damaged;
  for (const std::string& name : link_names(file, group)) {
    if (name.compare(0, name_prefix.size(), name_prefix) != 0) continue;
    const std::string object = group + "/" + name;
    const std::string what = "/" + object + " in " + path;
    H5Id dataset = h5_dataset(H5Dopen2(file, object.c_str(), H5P_DEFAULT), "open " + what);
    H5Id space = h5_space(H5Dget_space(dataset), "get the dataspace of " + what);
    H5Id type = h5_type(H5Dget_type(dataset), "get the type of " + what);
    const auto dtype = torch_type_of_hdf5(type);
    if (!dtype) {
      throw std::runtime_error("checkpoint " + path + ": /" + object +
                               " has an unsupported element type");
    }
    std::vector<hsize_t> dims(static_cast<size_t>(H5Sget_simple_extent_ndims(space)));
    H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    torch::Tensor tensor =
        torch::empty(std::vector<int64_t>(dims.begin(), dims.end()), torch::dtype(*dtype));
    if (tensor.numel() > 0) {
      // Serial reads have no 2 GiB limit of the MPI-IO driver; one call per tensor.
      h5_check(H5Dread(dataset, hdf5_memory_type(*dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                       tensor.data_ptr()),
               "read " + what);
    }

    // Version 2 files carry a checksum on every dataset; version 1 files have none.
    const auto stored = stored_checksum(dataset, what);
    if (version >= 2 && !stored) {
      damaged.push_back("/" + object + " (no crc32 attribute)");
    } else if (stored) {
      const uint32_t read = crc32_of_tensor(tensor);
      if (read != *stored) damaged.push_back(checksum_mismatch(object, *stored, read));
    }
    out.emplace_back(name, tensor);
  }
  if (!damaged.empty()) {
    throw CheckpointDamaged("checkpoint " + path +
                            " is damaged: " + std::to_string(damaged.size()) +
                            " dataset(s) do not match their checksum: " + format_names(damaged));
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
