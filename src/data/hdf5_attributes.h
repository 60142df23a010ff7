#pragma once
// Fixed-length string and scalar integer attributes, and whole 1-D datasets, on top of the
// RAII handles of hdf5_handles.h. `file` only names the file in error messages.
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "data/hdf5_handles.h"

namespace pic {

// Fixed-length, null-padded string type of `size` bytes (at least 1), UTF-8.
H5Id h5_fixed_string_type(size_t size);

// HDF5 memory type for T (uint8_t, int32_t, uint32_t, int64_t, uint64_t, double).
template <typename T>
hid_t h5_native_type();

void h5_write_string_attribute(hid_t object, const char* name, const std::string& value,
                               const std::string& file);
// Throws when the attribute is missing or not a fixed-length string; trailing NULs removed.
std::string h5_read_string_attribute(hid_t object, const char* name, const std::string& file);

// Scalar numeric attributes: T is one of int32_t, uint32_t, int64_t, uint64_t, double.
template <typename T>
void h5_write_scalar_attribute(hid_t object, const char* name, T value, const std::string& file);
// Throws when the attribute is missing or not a scalar of T's class (integer or floating).
template <typename T>
T h5_read_scalar_attribute(hid_t object, const char* name, const std::string& file);

// Number of elements of the 1-D dataset `name` (throws if it is missing or not 1-D).
int64_t h5_dataset_length(hid_t file_id, const char* name, const std::string& file);

// Whole 1-D fixed-length string dataset, trailing NULs removed.
std::vector<std::string> h5_read_fixed_strings(hid_t file_id, const char* name,
                                               const std::string& file);

}  // namespace pic
