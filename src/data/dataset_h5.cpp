#include "data/dataset_h5.h"

#include <stdexcept>

namespace pic::h5 {

Handle check_id(hid_t id, Handle::Closer closer, const std::string& file, const std::string& what) {
  if (id < 0) throw std::runtime_error(file + ": " + what);
  return Handle(id, closer);
}

void check_status(herr_t status, const std::string& file, const std::string& what) {
  if (status < 0) throw std::runtime_error(file + ": " + what);
}

Handle fixed_string_type(size_t size) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), size == 0 ? 1 : size);
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  return type;
}

template <>
hid_t native_type<uint8_t>() {
  return H5T_NATIVE_UINT8;
}
template <>
hid_t native_type<int32_t>() {
  return H5T_NATIVE_INT32;
}
template <>
hid_t native_type<int64_t>() {
  return H5T_NATIVE_INT64;
}
template <>
hid_t native_type<uint64_t>() {
  return H5T_NATIVE_UINT64;
}

void write_string_attribute(hid_t object, const char* name, const std::string& value,
                            const std::string& file) {
  Handle type = fixed_string_type(value.size());
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr =
      check_id(H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
               H5Aclose, file, std::string("cannot create attribute '") + name + "'");
  // A one-byte type for an empty string still needs one byte of (NUL) data.
  std::string padded = value.empty() ? std::string(1, '\0') : value;
  check_status(H5Awrite(attr.get(), type.get(), padded.data()), file,
               std::string("cannot write attribute '") + name + "'");
}

std::string read_string_attribute(hid_t object, const char* name, const std::string& file) {
  if (H5Aexists(object, name) <= 0) {
    throw std::runtime_error(file + ": missing attribute '" + name + "'");
  }
  Handle attr = check_id(H5Aopen(object, name, H5P_DEFAULT), H5Aclose, file,
                         std::string("cannot open attribute '") + name + "'");
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) > 0) {
    throw std::runtime_error(file + ": attribute '" + name + "' is not a fixed-length string");
  }
  size_t size = H5Tget_size(type.get());
  std::string value(size, '\0');
  Handle mem_type = fixed_string_type(size);
  check_status(H5Aread(attr.get(), mem_type.get(), value.data()), file,
               std::string("cannot read attribute '") + name + "'");
  value.resize(value.find_last_not_of('\0') + 1);  // npos + 1 == 0 for an all-NUL value
  return value;
}

template <typename T>
void write_scalar_attribute(hid_t object, const char* name, T value, const std::string& file) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr =
      check_id(H5Acreate2(object, name, native_type<T>(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
               H5Aclose, file, std::string("cannot create attribute '") + name + "'");
  check_status(H5Awrite(attr.get(), native_type<T>(), &value), file,
               std::string("cannot write attribute '") + name + "'");
}

template <typename T>
T read_scalar_attribute(hid_t object, const char* name, const std::string& file) {
  if (H5Aexists(object, name) <= 0) {
    throw std::runtime_error(file + ": missing attribute '" + name + "'");
  }
  Handle attr = check_id(H5Aopen(object, name, H5P_DEFAULT), H5Aclose, file,
                         std::string("cannot open attribute '") + name + "'");
  Handle space(H5Aget_space(attr.get()), H5Sclose);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  if (H5Sget_simple_extent_npoints(space.get()) != 1 || H5Tget_class(type.get()) != H5T_INTEGER) {
    throw std::runtime_error(file + ": attribute '" + name + "' is not an integer scalar");
  }
  T value{};
  check_status(H5Aread(attr.get(), native_type<T>(), &value), file,
               std::string("cannot read attribute '") + name + "'");
  return value;
}

template void write_scalar_attribute<int32_t>(hid_t, const char*, int32_t, const std::string&);
template void write_scalar_attribute<int64_t>(hid_t, const char*, int64_t, const std::string&);
template void write_scalar_attribute<uint64_t>(hid_t, const char*, uint64_t, const std::string&);
template int32_t read_scalar_attribute<int32_t>(hid_t, const char*, const std::string&);
template int64_t read_scalar_attribute<int64_t>(hid_t, const char*, const std::string&);
template uint64_t read_scalar_attribute<uint64_t>(hid_t, const char*, const std::string&);

int64_t dataset_length(hid_t file_id, const char* name, const std::string& file) {
  if (H5Lexists(file_id, name, H5P_DEFAULT) <= 0) {
    throw std::runtime_error(file + ": missing dataset '" + name + "'");
  }
  Handle dset = check_id(H5Dopen2(file_id, name, H5P_DEFAULT), H5Dclose, file,
                         std::string("cannot open dataset '") + name + "'");
  Handle space(H5Dget_space(dset.get()), H5Sclose);
  if (H5Sget_simple_extent_ndims(space.get()) != 1) {
    throw std::runtime_error(file + ": dataset '" + name + "' is not one-dimensional");
  }
  hsize_t dims[1] = {0};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  return static_cast<int64_t>(dims[0]);
}

std::vector<std::string> read_fixed_strings(hid_t file_id, const char* name,
                                            const std::string& file) {
  int64_t count = dataset_length(file_id, name, file);
  Handle dset(H5Dopen2(file_id, name, H5P_DEFAULT), H5Dclose);
  Handle type(H5Dget_type(dset.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) > 0) {
    throw std::runtime_error(file + ": dataset '" + name + "' is not a fixed-length string");
  }
  size_t width = H5Tget_size(type.get());
  std::vector<char> buffer(static_cast<size_t>(count) * width);
  Handle mem_type = fixed_string_type(width);
  if (count > 0) {
    check_status(H5Dread(dset.get(), mem_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()),
                 file, std::string("cannot read dataset '") + name + "'");
  }
  std::vector<std::string> strings;
  strings.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    std::string s(buffer.data() + i * width, width);
    s.resize(s.find_last_not_of('\0') + 1);
    strings.push_back(std::move(s));
  }
  return strings;
}

}  // namespace pic::h5
