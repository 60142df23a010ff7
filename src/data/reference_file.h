#pragma once
// Read-only access to the reference-vector files (tests/testdata/*.h5, written by h5py):
// float32 / int64 datasets as tensors, scalar attributes, and the names under a group.
// Opened serially with default property lists (works with the parallel HDF5 build).
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "data/hdf5_handles.h"

namespace pic {

class ReferenceFile {
 public:
  // Throws std::runtime_error naming the path when the file is missing or not HDF5.
  explicit ReferenceFile(std::string path);

  const std::string& path() const { return path_; }

  // True when `object_path` (e.g. "grad/sim_matrix") names a dataset or group in the file.
  bool exists(const std::string& object_path) const;
  // Names of the direct children of a group ("/" for the root), sorted.
  std::vector<std::string> list(const std::string& group_path) const;

  // A float (-> float32) or integer (-> int64) dataset of any rank, as a CPU tensor.
  torch::Tensor read_tensor(const std::string& dataset_path) const;

  // Attributes of `object_path` ("/" for the file itself).
  bool has_attribute(const std::string& object_path, const std::string& name) const;
  double read_double_attribute(const std::string& object_path, const std::string& name) const;
  int64_t read_int_attribute(const std::string& object_path, const std::string& name) const;
  std::string read_string_attribute(const std::string& object_path, const std::string& name) const;
  // A 1-D integer attribute (e.g. lr_decay_epochs); a scalar reads as one element.
  std::vector<int64_t> read_int_array_attribute(const std::string& object_path,
                                                const std::string& name) const;

 private:
  H5Id open_attribute(const std::string& object_path, const std::string& name) const;
  std::string where(const std::string& object_path) const;

  std::string path_;
  H5Id file_;
};

}  // namespace pic
