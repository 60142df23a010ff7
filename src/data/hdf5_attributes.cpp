#include "data/hdf5_attributes.h"

#include <stdexcept>
#include <type_traits>

namespace pic {
namespace {

std::string attribute_what(const char* verb, const char* name, const std::string& file) {
  return std::string(verb) + " attribute '" + name + "' in " + file;
}

void require_attribute(hid_t object, const char* name, const std::string& file) {
  if (H5Aexists(object, name) <= 0) {
    throw std::runtime_error(file + ": missing attribute '" + name + "'");
  }
}

}  // namespace

H5Id h5_fixed_string_type(size_t size) {
  H5Id type = h5_type(H5Tcopy(H5T_C_S1), "copy the string type");
  h5_check(H5Tset_size(type, size == 0 ? 1 : size), "size a string type");
  h5_check(H5Tset_strpad(type, H5T_STR_NULLPAD), "pad a string type");
  h5_check(H5Tset_cset(type, H5T_CSET_UTF8), "set a string type to UTF-8");
  return type;
}

template <>
hid_t h5_native_type<uint8_t>() {
  return H5T_NATIVE_UINT8;
}
template <>
hid_t h5_native_type<int32_t>() {
  return H5T_NATIVE_INT32;
}
template <>
hid_t h5_native_type<uint32_t>() {
  return H5T_NATIVE_UINT32;
}
template <>
hid_t h5_native_type<int64_t>() {
  return H5T_NATIVE_INT64;
}
template <>
hid_t h5_native_type<uint64_t>() {
  return H5T_NATIVE_UINT64;
}
template <>
hid_t h5_native_type<double>() {
  return H5T_NATIVE_DOUBLE;
}

void h5_write_string_attribute(hid_t object, const char* name, const std::string& value,
                               const std::string& file) {
  H5Id type = h5_fixed_string_type(value.size());
  H5Id space = h5_space(H5Screate(H5S_SCALAR), "create a scalar dataspace");
  H5Id attribute = h5_attribute(H5Acreate2(object, name, type, space, H5P_DEFAULT, H5P_DEFAULT),
                                attribute_what("create", name, file));
  // A one-byte type for an empty string still needs one byte of (NUL) data.
  const std::string padded = value.empty() ? std::string(1, '\0') : value;
  h5_check(H5Awrite(attribute, type, padded.data()), attribute_what("write", name, file));
}

std::string h5_read_string_attribute(hid_t object, const char* name, const std::string& file) {
  require_attribute(object, name, file);
  H5Id attribute =
      h5_attribute(H5Aopen(object, name, H5P_DEFAULT), attribute_what("open", name, file));
  H5Id type = h5_type(H5Aget_type(attribute), attribute_what("get the type of", name, file));
  if (H5Tget_class(type) != H5T_STRING || H5Tis_variable_str(type) > 0) {
    throw std::runtime_error(file + ": attribute '" + name + "' is not a fixed-length string");
  }
  // Read with the stored type itself: no character-set conversion (ASCII or UTF-8 alike).
  std::string value(H5Tget_size(type), '\0');
  h5_check(H5Aread(attribute, type, value.data()), attribute_what("read", name, file));
  value.resize(value.find_last_not_of('\0') + 1);  // npos + 1 == 0 for an all-NUL value
  return value;
}

template <typename T>
void h5_write_scalar_attribute(hid_t object, const char* name, T value, const std::string& file) {
  H5Id space = h5_space(H5Screate(H5S_SCALAR), "create a scalar dataspace");
  H5Id attribute =
      h5_attribute(H5Acreate2(object, name, h5_native_type<T>(), space, H5P_DEFAULT, H5P_DEFAULT),
                   attribute_what("create", name, file));
  h5_check(H5Awrite(attribute, h5_native_type<T>(), &value), attribute_what("write", name, file));
}

template <typename T>
T h5_read_scalar_attribute(hid_t object, const char* name, const std::string& file) {
  require_attribute(object, name, file);
  H5Id attribute =
      h5_attribute(H5Aopen(object, name, H5P_DEFAULT), attribute_what("open", name, file));
  H5Id space = h5_space(H5Aget_space(attribute), attribute_what("get the space of", name, file));
  H5Id type = h5_type(H5Aget_type(attribute), attribute_what("get the type of", name, file));
  const H5T_class_t wanted = std::is_floating_point<T>::value ? H5T_FLOAT : H5T_INTEGER;
  if (H5Sget_simple_extent_npoints(space) != 1 || H5Tget_class(type) != wanted) {
    throw std::runtime_error(file + ": attribute '" + name + "' is not " +
                             (wanted == H5T_FLOAT ? "a floating-point" : "an integer") + " scalar");
  }
  T value{};
  h5_check(H5Aread(attribute, h5_native_type<T>(), &value), attribute_what("read", name, file));
  return value;
}

template void h5_write_scalar_attribute<int32_t>(hid_t, const char*, int32_t, const std::string&);
template void h5_write_scalar_attribute<uint32_t>(hid_t, const char*, uint32_t, const std::string&);
template void h5_write_scalar_attribute<int64_t>(hid_t, const char*, int64_t, const std::string&);
template void h5_write_scalar_attribute<uint64_t>(hid_t, const char*, uint64_t, const std::string&);
template void h5_write_scalar_attribute<double>(hid_t, const char*, double, const std::string&);
template int32_t h5_read_scalar_attribute<int32_t>(hid_t, const char*, const std::string&);
template uint32_t h5_read_scalar_attribute<uint32_t>(hid_t, const char*, const std::string&);
template int64_t h5_read_scalar_attribute<int64_t>(hid_t, const char*, const std::string&);
template uint64_t h5_read_scalar_attribute<uint64_t>(hid_t, const char*, const std::string&);
template double h5_read_scalar_attribute<double>(hid_t, const char*, const std::string&);

int64_t h5_dataset_length(hid_t file_id, const char* name, const std::string& file) {
  if (H5Lexists(file_id, name, H5P_DEFAULT) <= 0) {
    throw std::runtime_error(file + ": missing dataset '" + name + "'");
  }
  const std::string what = std::string("dataset '") + name + "' in " + file;
  H5Id dataset = h5_dataset(H5Dopen2(file_id, name, H5P_DEFAULT), "open " + what);
  H5Id space = h5_space(H5Dget_space(dataset), "get the dataspace of " + what);
  if (H5Sget_simple_extent_ndims(space) != 1) {
    throw std::runtime_error(file + ": dataset '" + name + "' is not one-dimensional");
  }
  hsize_t dims[1] = {0};
  h5_check(H5Sget_simple_extent_dims(space, dims, nullptr), "get the shape of " + what);
  return static_cast<int64_t>(dims[0]);
}

std::vector<std::string> h5_read_fixed_strings(hid_t file_id, const char* name,
                                               const std::string& file) {
  const int64_t count = h5_dataset_length(file_id, name, file);
  const std::string what = std::string("dataset '") + name + "' in " + file;
  H5Id dataset = h5_dataset(H5Dopen2(file_id, name, H5P_DEFAULT), "open " + what);
  H5Id type = h5_type(H5Dget_type(dataset), "get the type of " + what);
  if (H5Tget_class(type) != H5T_STRING || H5Tis_variable_str(type) > 0) {
    throw std::runtime_error(file + ": dataset '" + name + "' is not a fixed-length string");
  }
  const size_t width = H5Tget_size(type);
  std::vector<char> buffer(static_cast<size_t>(count) * width);
  H5Id memory_type = h5_fixed_string_type(width);
  if (count > 0) {
    h5_check(H5Dread(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()),
             "read " + what);
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

}  // namespace pic
