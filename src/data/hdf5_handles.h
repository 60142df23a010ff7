#pragma once
// RAII owners for HDF5 identifiers (files, groups, datasets, dataspaces, types, property
// lists, attributes) and checks that turn HDF5's negative return codes into exceptions.
//
// Every failure message names what was being done ("create dataset /model/fc.weight in
// ckpt.h5") followed by the innermost message of HDF5's error stack, so a user sees which
// file and object failed, not a bare "-1".
#include <hdf5.h>

#include <string>
#include <utility>

namespace pic {

// The most specific description on HDF5's current error stack ("" when it is empty).
std::string h5_error_text();

// Throws std::runtime_error("HDF5: cannot <what>: <h5_error_text()>") when status < 0.
void h5_check(herr_t status, const std::string& what);

// Turns off HDF5's automatic printing of error stacks while alive (we report errors
// ourselves, and probing a possibly truncated file must not spray stacks on stderr).
class H5QuietErrors {
 public:
  H5QuietErrors() {
    H5Eget_auto2(H5E_DEFAULT, &function_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~H5QuietErrors() { H5Eset_auto2(H5E_DEFAULT, function_, data_); }
  H5QuietErrors(const H5QuietErrors&) = delete;
  H5QuietErrors& operator=(const H5QuietErrors&) = delete;

 private:
  H5E_auto2_t function_ = nullptr;
  void* data_ = nullptr;
};

// Owns one hid_t and closes it with the matching H5*close function.
class H5Id {
 public:
  using Closer = herr_t (*)(hid_t);

  H5Id() = default;
  // Takes ownership of `id`; throws (naming `what`) when id < 0.
  H5Id(hid_t id, Closer closer, const std::string& what) : id_(id), closer_(closer) {
    if (id < 0) {
      id_ = -1;
      h5_check(-1, what);
    }
  }
  ~H5Id() {
    if (id_ >= 0) closer_(id_);
  }
  H5Id(H5Id&& other) noexcept : id_(std::exchange(other.id_, -1)), closer_(other.closer_) {}
  H5Id& operator=(H5Id&& other) noexcept {
    if (this != &other) {
      if (id_ >= 0) closer_(id_);
      id_ = std::exchange(other.id_, -1);
      closer_ = other.closer_;
    }
    return *this;
  }
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;

  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }  // NOLINT: pass straight to the C API
  bool valid() const { return id_ >= 0; }

  // Closes now and reports failure (closing a file flushes it: errors surface here).
  void close(const std::string& what) {
    if (id_ < 0) return;
    const herr_t status = closer_(id_);
    id_ = -1;
    h5_check(status, what);
  }

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

inline H5Id h5_file(hid_t id, const std::string& what) { return H5Id(id, H5Fclose, what); }
inline H5Id h5_group(hid_t id, const std::string& what) { return H5Id(id, H5Gclose, what); }
inline H5Id h5_dataset(hid_t id, const std::string& what) { return H5Id(id, H5Dclose, what); }
inline H5Id h5_space(hid_t id, const std::string& what) { return H5Id(id, H5Sclose, what); }
inline H5Id h5_type(hid_t id, const std::string& what) { return H5Id(id, H5Tclose, what); }
inline H5Id h5_plist(hid_t id, const std::string& what) { return H5Id(id, H5Pclose, what); }
inline H5Id h5_attribute(hid_t id, const std::string& what) { return H5Id(id, H5Aclose, what); }

}  // namespace pic
