#include "data/hdf5_handles.h"

#include <stdexcept>

namespace pic {
namespace {

// H5Ewalk visits the stack from the innermost call outwards; the first entry is the
// most specific ("file is truncated", "unable to open file").
herr_t keep_first_description(unsigned n, const H5E_error2_t* error, void* client) {
  auto* text = static_cast<std::string*>(client);
  if (n == 0 && error->desc != nullptr) *text = error->desc;
  return 0;
}

}  // namespace

std::string h5_error_text() {
  std::string text;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_first_description, &text);
  return text;
}

void h5_check(herr_t status, const std::string& what) {
  if (status >= 0) return;
  std::string detail = h5_error_text();
  H5Eclear2(H5E_DEFAULT);
  throw std::runtime_error("HDF5: cannot " + what + (detail.empty() ? "" : ": " + detail));
}

}  // namespace pic
