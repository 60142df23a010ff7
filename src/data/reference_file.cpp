#include "data/reference_file.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace pic {
namespace {

herr_t collect_name(hid_t, const char* name, const H5L_info_t*, void* names) {
  static_cast<std::vector<std::string>*>(names)->emplace_back(name);
  return 0;
}

}  // namespace

ReferenceFile::ReferenceFile(std::string path) : path_(std::move(path)) {
  H5QuietErrors quiet;
  if (H5Fis_hdf5(path_.c_str()) <= 0) {
    throw std::runtime_error("reference file " + path_ + ": missing or not an HDF5 file");
  }
  file_ = h5_file(H5Fopen(path_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open " + path_);
}

std::string ReferenceFile::where(const std::string& object_path) const {
  return "'" + object_path + "' in " + path_;
}

bool ReferenceFile::exists(const std::string& object_path) const {
  if (object_path == "/" || object_path.empty()) return true;
  H5QuietErrors quiet;
  // Check every prefix: H5Lexists fails (rather than returning 0) when a parent is missing.
  size_t pos = 0;
  while (true) {
    pos = object_path.find('/', pos + 1);
    const std::string prefix = object_path.substr(0, pos);
    if (H5Lexists(file_, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (pos == std::string::npos) return true;
  }
}

std::vector<std::string> ReferenceFile::list(const std::string& group_path) const {
  H5QuietErrors quiet;
  H5Id group =
      h5_group(H5Gopen2(file_, group_path.c_str(), H5P_DEFAULT), "open group " + where(group_path));
  std::vector<std::string> names;
  h5_check(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_name, &names),
           "list group " + where(group_path));
  std::sort(names.begin(), names.end());
  return names;
}

torch::Tensor ReferenceFile::read_tensor(const std::string& dataset_path) const {
  H5QuietErrors quiet;
  const std::string what = where(dataset_path);
  H5Id dataset = h5_dataset(H5Dopen2(file_, dataset_path.c_str(), H5P_DEFAULT), "open " + what);
  H5Id space = h5_space(H5Dget_space(dataset), "get dataspace of " + what);
  const int rank = H5Sget_simple_extent_ndims(space);
  h5_check(rank, "get rank of " + what);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  h5_check(H5Sget_simple_extent_dims(space, dims.data(), nullptr), "get shape of " + what);
  std::vector<int64_t> sizes(dims.begin(), dims.end());

  H5Id type = h5_type(H5Dget_type(dataset), "get type of " + what);
  torch::Tensor out;
  hid_t memory_type;
  switch (H5Tget_class(type)) {
    case H5T_FLOAT:
      out = torch::empty(sizes, torch::kFloat);
      memory_type = H5T_NATIVE_FLOAT;
      break;
    case H5T_INTEGER:
      out = torch::empty(sizes, torch::kLong);
      memory_type = H5T_NATIVE_INT64;
      break;
    default:
      throw std::runtime_error("reference file: " + what +
                               " is neither a float nor an integer dataset");
  }
  if (out.numel() > 0) {
    h5_check(H5Dread(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data_ptr()),
             "read " + what);
  }
  return out;
}

H5Id ReferenceFile::open_attribute(const std::string& object_path, const std::string& name) const {
  H5QuietErrors quiet;
  return h5_attribute(
      H5Aopen_by_name(file_, object_path.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
      "open attribute '" + name + "' of " + where(object_path));
}

bool ReferenceFile::has_attribute(const std::string& object_path, const std::string& name) const {
  H5QuietErrors quiet;
  if (!exists(object_path)) return false;
  return H5Aexists_by_name(file_, object_path.c_str(), name.c_str(), H5P_DEFAULT) > 0;
}

double ReferenceFile::read_double_attribute(const std::string& object_path,
                                            const std::string& name) const {
  H5Id attribute = open_attribute(object_path, name);
  H5Id space = h5_space(H5Aget_space(attribute), "get dataspace of attribute " + name);
  if (H5Sget_simple_extent_npoints(space) != 1) {
    throw std::runtime_error("reference file: attribute '" + name + "' of " + where(object_path) +
                             " is not a scalar");
  }
  double value = 0;  // HDF5 converts any integer or float type to double on read
  h5_check(H5Aread(attribute, H5T_NATIVE_DOUBLE, &value),
           "read attribute '" + name + "' of " + where(object_path));
  return value;
}

int64_t ReferenceFile::read_int_attribute(const std::string& object_path,
                                          const std::string& name) const {
  const double value = read_double_attribute(object_path, name);
  const auto as_int = static_cast<int64_t>(value);
  if (static_cast<double>(as_int) != value) {
    throw std::runtime_error("reference file: attribute '" + name + "' of " + where(object_path) +
                             " is " + std::to_string(value) + ", expected an integer");
  }
  return as_int;
}

std::vector<int64_t> ReferenceFile::read_int_array_attribute(const std::string& object_path,
                                                             const std::string& name) const {
  H5Id attribute = open_attribute(object_path, name);
  H5Id space = h5_space(H5Aget_space(attribute), "get dataspace of attribute " + name);
  const hssize_t count = H5Sget_simple_extent_npoints(space);
  h5_check(static_cast<herr_t>(count < 0 ? -1 : 0), "count attribute " + name);
  std::vector<int64_t> values(static_cast<size_t>(count));
  if (count > 0) {
    h5_check(H5Aread(attribute, H5T_NATIVE_INT64, values.data()),
             "read attribute '" + name + "' of " + where(object_path));
  }
  return values;
}

std::string ReferenceFile::read_string_attribute(const std::string& object_path,
                                                 const std::string& name) const {
  const std::string what = "attribute '" + name + "' of " + where(object_path);
  H5Id attribute = open_attribute(object_path, name);
  H5Id type = h5_type(H5Aget_type(attribute), "get type of " + what);
  if (H5Tget_class(type) != H5T_STRING) {
    throw std::runtime_error("reference file: " + what + " is not a string");
  }
  // h5py writes Python str as variable-length UTF-8 and numpy bytes as fixed length.
  if (H5Tis_variable_str(type) > 0) {
    H5Id memory_type = h5_type(H5Tcopy(H5T_C_S1), "copy string type");
    h5_check(H5Tset_size(memory_type, H5T_VARIABLE), "set string size");
    h5_check(H5Tset_cset(memory_type, H5Tget_cset(type)), "set string charset");
    char* text = nullptr;
    h5_check(H5Aread(attribute, memory_type, &text), "read " + what);
    std::string value = text ? text : "";
    H5free_memory(text);
    return value;
  }
  const size_t size = H5Tget_size(type);
  std::string value(size, '\0');
  h5_check(H5Aread(attribute, type, value.data()), "read " + what);
  return value.substr(0, value.find('\0'));
}

}  // namespace pic
