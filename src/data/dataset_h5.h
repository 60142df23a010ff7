#pragma once
// Small HDF5 C-API helpers for the dataset file: an owning handle and fixed-length string
// attributes and datasets. Errors name the file and the object.
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace pic::h5 {

// Owns one HDF5 identifier and closes it with the matching H5?close function.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept { *this = std::move(other); }
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
      closer_ = other.closer_;
    }
    return *this;
  }
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  // Gives up ownership (the caller closes the identifier).
  hid_t release() { return std::exchange(id_, H5I_INVALID_HID); }
  bool valid() const { return id_ >= 0; }
  void reset() {
    if (id_ >= 0 && closer_ != nullptr) closer_(id_);
    id_ = H5I_INVALID_HID;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

// Throws std::runtime_error("<file>: <what>") when id < 0; returns an owning handle otherwise.
Handle check_id(hid_t id, Handle::Closer closer, const std::string& file, const std::string& what);
// Throws std::runtime_error("<file>: <what>") when status < 0.
void check_status(herr_t status, const std::string& file, const std::string& what);

// Fixed-length, null-padded string type of `size` bytes (at least 1), UTF-8.
Handle fixed_string_type(size_t size);

void write_string_attribute(hid_t object, const char* name, const std::string& value,
                            const std::string& file);
std::string read_string_attribute(hid_t object, const char* name, const std::string& file);

// Scalar numeric attributes: T is one of int32_t, int64_t, uint64_t.
template <typename T>
void write_scalar_attribute(hid_t object, const char* name, T value, const std::string& file);
template <typename T>
T read_scalar_attribute(hid_t object, const char* name, const std::string& file);

// Number of elements of the 1-D dataset `name` (throws if it is missing or not 1-D).
int64_t dataset_length(hid_t file_id, const char* name, const std::string& file);

// Whole 1-D fixed-length string dataset, trailing NULs removed.
std::vector<std::string> read_fixed_strings(hid_t file_id, const char* name,
                                            const std::string& file);

// HDF5 memory type for T (uint8_t, int32_t, uint64_t, int64_t).
template <typename T>
hid_t native_type();

}  // namespace pic::h5
